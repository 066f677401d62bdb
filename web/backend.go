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
	// SetupCode is the one-time code that unlocks the wizard.
	SetupCode() string
	// Hostname is the public hostname in force, and whether it was chosen
	// (by the wizard, a flag or the environment) rather than defaulted.
	Hostname() (string, bool)
	// SaveHostname stores the hostname and applies it (the server restarts
	// in-process with it).
	SaveHostname(ctx context.Context, host string) error
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

// Sample is one point of the history chart.
type Sample struct {
	Time      time.Time
	Records   int
	FileBytes int64
}
