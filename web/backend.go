package web

import (
	"context"
	"io"
	"time"

	"github.com/hearth-pds/hearth/identity/account"
	"github.com/hearth-pds/hearth/identity/account/move"
)

// Backend is what the pages need from the rest of Hearth.
type Backend interface {
	// Owner is the DID of the account made by the wizard, if any.
	Owner() (string, bool)
	// CheckSetupCode reports whether code is the one that unlocks the
	// wizard while setup is open.
	CheckSetupCode(code string) bool
	// Trial reports a local trial: this computer only, its own PLC
	// directory, .test handles, never federated.
	Trial() bool
	// StartTrial switches to the local trial (the server restarts).
	StartTrial(ctx context.Context) error
	// LeaveTrial ends it: the wizard opens again at the address step, and
	// the trial's accounts stay local.
	LeaveTrial(ctx context.Context) error
	// Hostname is the public hostname in force, and whether it was chosen
	// (by the wizard, a flag or the environment) rather than defaulted.
	Hostname() (string, bool)
	// SaveHostname stores the hostname and applies it (the server restarts
	// in-process with it).
	SaveHostname(ctx context.Context, host string) error
	// TLS is the HTTPS choice the stored settings ask for.
	TLS() TLSChoice
	// SaveTLS checks that the choice can work for host and stores it; it
	// takes effect with the restart that SaveHostname begins. Its error is
	// a sentence with a next step.
	SaveTLS(ctx context.Context, host string, c TLSChoice) error
	// ApplyTLS checks the choice for the hostname in force, with the same
	// checks and sentences as SaveTLS, stores it and restarts the
	// listeners with it (the HTTPS page, after setup).
	ApplyTLS(ctx context.Context, c TLSChoice) error
	// CheckAddress reports what Hearth can see of a hostname from inside.
	CheckAddress(ctx context.Context, host string) AddressReport
	// HandleDomains are the suffixes offered for handles.
	HandleDomains() []string
	// CreateOwner makes the owner account.
	CreateOwner(ctx context.Context, handle, email, password string) (did string, err error)
	// ClaimHandle sets the owner's handle to a custom domain once its DNS
	// TXT record (or well-known file) names the DID.
	ClaimHandle(ctx context.Context, did, handle string) error
	// Login checks the owner's (or the admin) password.
	Login(ctx context.Context, identifier, password string) bool
	Status(ctx context.Context) Status
	CreateInvite(ctx context.Context) (string, error)
	// Backup streams a consistent copy of the whole data file.
	Backup(w io.Writer) (int64, error)
	// ExportRepo streams an account's repository as a CAR file.
	ExportRepo(ctx context.Context, did string, w io.Writer) error
	PublicURL() string
	// RequestCrawl asks every relay to crawl this server now, and returns
	// the refusals; each relay's outcome is in Status too.
	RequestCrawl(ctx context.Context) error
	// Accounts is the account service of the server running now. The server
	// is rebuilt when the wizard restarts it, so ask at each request.
	Accounts() *account.Service
	// Mover runs the moves of accounts coming here from other hosts (nil:
	// none). Like Accounts, it belongs to the server running now.
	Mover() *move.Runner
}

// TLSChoice is how HTTPS reaches the public: Mode "auto" (certificates
// from Let's Encrypt), "off" (a proxy in front) or "files" (Cert and Key).
type TLSChoice struct {
	Mode, Cert, Key string
	Fixed           bool // set by flag or environment: the pages cannot change it
	// Failed is why the stored choice did not start at the last (re)start:
	// Hearth then serves plain HTTP on its own port only, so the pages
	// stay up to mend it.
	Failed string
}

// AddressReport is what the address step shows.
type AddressReport struct {
	Host       string
	Addresses  []string // what DNS answers
	Local      []string // this machine's addresses
	PointsHere bool     // DNS names one of this machine's addresses
	Err        string
}

// Status is the status page's content.
type Status struct {
	Version     string
	Uptime      time.Duration
	Accounts    []AccountStatus
	BlobCount   int
	BlobBytes   int64
	FileBytes   int64
	Subscribers int
	LastSeq     int64
	Relays      []RelayStatus
	History     []Sample
	Mail        MailStatus
	Disk        DiskStatus

	// What the cards judge (see cards.go).
	Hostname   string
	Trial      bool
	Events     int           // firehose events kept for replay
	Requests   int64         // HTTP requests since start
	Address    AddressReport // DNS of the hostname (none in a trial)
	TLS        TLSCheck      // the certificate the public name serves
	Identity   IdentityCheck
	DiskFree   int64 // bytes free where the data file is
	DiskTotal  int64
	LastBackup time.Time // zero: never
	Now        time.Time
}

// TLSCheck is a look at the certificate the public address serves. At is
// zero when there was none (a trial, an http:// address).
type TLSCheck struct {
	At        time.Time
	NotAfter  time.Time // the certificate's end, when it was valid
	Invalid   string    // why clients refuse it
	Unreached string    // Hearth could not reach its own name from inside
}

// IdentityCheck is what the owner's DID document says, read from its
// directory.
type IdentityCheck struct {
	DID          string
	Endpoint     string // the PDS the document names
	RecoveryKeys int    // rotation keys the owner holds
	Err          string // the directory did not answer (detail is in the log)
}

// MailStatus is the state of the account mail.
type MailStatus struct {
	Configured bool
	Server     string // host:port, never the password
	Queued     int
	LastSent   time.Time
	LastErr    string // the last delivery error, while it is the latest news
	LastErrAt  time.Time
}

// AccountStatus is one account's line.
type AccountStatus struct {
	DID, Handle, Email string
	// State is "" for active, else deactivated, takendown or suspended.
	State     string
	Records   int
	RepoBytes int
}

// Sample is one point of the history charts: totals at Time, and the
// requests and firehose events since the sample before.
type Sample struct {
	Time      time.Time
	Records   int
	FileBytes int64
	Requests  int64 `json:",omitempty"`
	Events    int64 `json:",omitempty"`
	Kept      int   `json:",omitempty"` // firehose events kept at Time
}
