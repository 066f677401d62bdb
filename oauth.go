package main

import (
	"context"
	"net/http"
	"time"

	"github.com/hearth-pds/hearth/web"
	"github.com/hearth-pds/hearth/xrpc"
	"github.com/hearth-pds/hearth/xrpc/oauth"
)

// OAuth wiring, in one place: the authorization server's endpoints go to
// the XRPC server, its authorization page to the pages, and the pages
// reach the authorization server through oauthPages. All of it only when
// HEARTH_OAUTH is on (the default).

func oauthRoutes(mux *http.ServeMux, srv *xrpc.Server, pages http.Handler) {
	if srv.OAuth() == nil {
		return
	}
	mux.Handle("/oauth/", srv.Handler())
	mux.Handle("/oauth/authorize", pages)
	mux.Handle("/oauth/authorize/", pages)
	// Expired requests and grants go once an hour.
	go func() {
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for range t.C {
			if srv.OAuth() == nil || srv.OAuth().Sweep(context.Background()) != nil {
				return
			}
		}
	}()
}

// OAuth is the authorization server of the server running now, for the
// pages (web.OAuthBackend).
func (a *appliance) OAuth() web.OAuth {
	srv, _ := a.server()
	if srv == nil || srv.OAuth() == nil {
		return nil
	}
	return oauthPages{srv.OAuth()}
}

// oauthPages adapts the authorization server to what the pages need.
type oauthPages struct{ s *oauth.Server }

func (o oauthPages) Pending(ctx context.Context, clientID, requestURI string) (*web.OAuthRequest, error) {
	p, err := o.s.Pending(ctx, clientID, requestURI)
	if err != nil {
		return nil, err
	}
	c := p.Client
	return &web.OAuthRequest{
		ID: p.ID, ClientID: c.ID, RequestURI: requestURI, ClientName: c.Name, Domain: c.Domain(),
		Logo: c.LogoURI, AppURL: c.URI, RedirectOrigin: p.RedirectOrigin(), LoginHint: p.LoginHint,
		Permissions: groups(p.Permissions), Prompt: p.Prompt, Created: p.Created,
	}, nil
}

func (o oauthPages) Remembered(id, did string) bool { return o.s.Remembered(id, did) }

func (o oauthPages) Approve(ctx context.Context, id, did string, remember bool) (string, error) {
	return o.s.Approve(ctx, id, did, remember)
}

func (o oauthPages) Deny(ctx context.Context, id string) (string, error) { return o.s.Deny(ctx, id) }

func (o oauthPages) Refuse(ctx context.Context, id, code, desc string) (string, error) {
	return o.s.Refuse(ctx, id, code, desc)
}

func (o oauthPages) DeviceAccounts(device string) []web.DeviceAccount {
	var out []web.DeviceAccount
	for _, a := range o.s.DeviceAccounts(device) {
		out = append(out, web.DeviceAccount{DID: a.DID, SignedIn: a.SignedIn})
	}
	return out
}

func (o oauthPages) RememberDevice(ctx context.Context, from, device, did string) error {
	return o.s.RememberDevice(ctx, from, device, did)
}

func (o oauthPages) Grants(did string) ([]web.ConnectedApp, error) {
	gs, err := o.s.Grants(did)
	out := make([]web.ConnectedApp, 0, len(gs))
	for _, g := range gs {
		name := g.ClientName
		if name == "" {
			name = g.ClientID
		}
		out = append(out, web.ConnectedApp{ID: g.ID, Name: name, Domain: (&oauth.Client{ID: g.ClientID}).Domain(),
			Granted: g.CreatedAt, Permissions: groups(g.Permissions)})
	}
	return out, err
}

func (o oauthPages) RevokeGrant(ctx context.Context, did, id string) error {
	return o.s.RevokeGrant(ctx, did, id)
}

func groups(p *oauth.Permissions) []web.PermissionGroup {
	var out []web.PermissionGroup
	for _, g := range p.Describe() {
		out = append(out, web.PermissionGroup{Title: g.Title, Lines: g.Lines})
	}
	return out
}
