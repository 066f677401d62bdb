package plc

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/hearth-pds/hearth/identity/resolve"
)

// ErrUnpublishable reports an endpoint that must not go to the directory.
var ErrUnpublishable = errors.New("plc: endpoint not publishable")

// CheckPublishable refuses to publish an endpoint that only this machine or
// its network can reach (localhost, loopback, private, link-local and
// unique-local addresses, LAN names such as .local, see
// resolve.IsPublicHost), or one that is not https, to a directory that is
// itself public. A directory on a local address takes anything: that is
// what a development directory is for. So a development PDS can never put
// itself into the public directory, where the DID would point nowhere for
// everyone else, forever.
//
// The check reads the names only; a public name that resolves to a private
// address passes.
func CheckPublishable(directoryURL, endpoint string) error {
	d, err := url.Parse(directoryURL)
	if err != nil || d.Host == "" {
		return fmt.Errorf("%w: the directory URL %q is not an absolute URL", ErrUnpublishable, directoryURL)
	}
	if !resolve.IsPublicHost(d.Hostname()) {
		return nil
	}
	e, err := url.Parse(endpoint)
	if err != nil || e.Host == "" {
		return fmt.Errorf("%w: %q is not an absolute URL", ErrUnpublishable, endpoint)
	}
	if !resolve.IsPublicHost(e.Hostname()) {
		return fmt.Errorf("%w: %s is a local address, unreachable for the rest of the network; give the PDS a public hostname, or use a PLC directory on this machine for development (refusing to publish it to %s)",
			ErrUnpublishable, e.Host, d.Host)
	}
	if e.Scheme != "https" {
		return fmt.Errorf("%w: %s must be https to be published to %s", ErrUnpublishable, e.Redacted(), d.Host)
	}
	return nil
}
