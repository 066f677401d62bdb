package xrpc

import "net/http"

// describe answers describeServer. Links and contact carry only what the
// owner set: the reference omits an unset key rather than send it empty.
func (s *Server) describe(w http.ResponseWriter, r *http.Request, _ *Auth) error {
	links, contact := map[string]string{}, map[string]string{}
	set := func(m map[string]string, k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	set(links, "privacyPolicy", s.cfg.PrivacyPolicyURL)
	set(links, "termsOfService", s.cfg.TermsOfServiceURL)
	set(contact, "email", s.cfg.ContactEmail)
	return ok(w, map[string]any{
		"did":                       s.serviceDID,
		"availableUserDomains":      s.cfg.HandleDomains,
		"inviteCodeRequired":        s.cfg.InviteRequired,
		"phoneVerificationRequired": false,
		"links":                     links,
		"contact":                   contact,
	})
}
