package main

import "testing"

func TestLoadConfigSubscriberCaps(t *testing.T) {
	tests := []struct {
		env          map[string]string
		args         []string
		total, perIP int
		wantErr      bool
	}{
		{env: map[string]string{}, total: 100, perIP: 10},
		{env: map[string]string{"HEARTH_MAX_SUBSCRIBERS": "5", "HEARTH_MAX_SUBSCRIBERS_PER_IP": "0"}, total: 5, perIP: 0},
		{env: map[string]string{"HEARTH_MAX_SUBSCRIBERS": "5"}, args: []string{"-max-subscribers-per-ip", "2"}, total: 5, perIP: 2},
		{env: map[string]string{"HEARTH_MAX_SUBSCRIBERS": "lots"}, wantErr: true},
		{env: map[string]string{}, args: []string{"-max-subscribers", "-1"}, wantErr: true},
	}
	for _, tt := range tests {
		c, err := loadConfig(tt.args, func(k string) string { return tt.env[k] })
		if tt.wantErr {
			if err == nil {
				t.Errorf("%v %v: no error", tt.env, tt.args)
			}
			continue
		}
		if err != nil || c.MaxSubscribers != tt.total || c.MaxSubscribersPerIP != tt.perIP {
			t.Errorf("%v %v: %d %d %v, want %d %d", tt.env, tt.args, c.MaxSubscribers, c.MaxSubscribersPerIP, err, tt.total, tt.perIP)
		}
	}
}

func TestLoadConfigServerLinks(t *testing.T) {
	tests := []struct {
		env     map[string]string
		args    []string
		wantErr bool
	}{
		{env: map[string]string{}},
		{env: map[string]string{"HEARTH_PRIVACY_POLICY_URL": "https://pds.example.com/privacy", "HEARTH_CONTACT_EMAIL": "me@example.com"},
			args: []string{"-terms-of-service-url", "https://pds.example.com/terms"}},
		{env: map[string]string{"HEARTH_PRIVACY_POLICY_URL": "pds.example.com/privacy"}, wantErr: true},
		{env: map[string]string{"HEARTH_TERMS_OF_SERVICE_URL": "javascript:alert(1)"}, wantErr: true},
		{env: map[string]string{"HEARTH_CONTACT_EMAIL": "me"}, wantErr: true},
	}
	for _, tt := range tests {
		c, err := loadConfig(tt.args, func(k string) string { return tt.env[k] })
		if (err != nil) != tt.wantErr {
			t.Errorf("%v %v: err %v, want error %v", tt.env, tt.args, err, tt.wantErr)
			continue
		}
		if err == nil && (c.PrivacyPolicyURL != tt.env["HEARTH_PRIVACY_POLICY_URL"] || c.ContactEmail != tt.env["HEARTH_CONTACT_EMAIL"]) {
			t.Errorf("%v: got %q %q", tt.env, c.PrivacyPolicyURL, c.ContactEmail)
		}
	}
}

// TestLoadConfigOAuth: OAuth is on by default (the real-client test passes,
// e2e/oauth.mjs); HEARTH_OAUTH=false or -oauth=false turns it off.
func TestLoadConfigOAuth(t *testing.T) {
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want bool
	}{
		{nil, nil, true},
		{nil, map[string]string{"HEARTH_OAUTH": "false"}, false},
		{[]string{"-oauth=false"}, nil, false},
		{nil, map[string]string{"HEARTH_OAUTH": "true"}, true},
	} {
		c, err := loadConfig(tt.args, func(k string) string { return tt.env[k] })
		if err != nil || c.OAuth != tt.want {
			t.Errorf("%v %v: OAuth %v, err %v; want %v", tt.args, tt.env, c.OAuth, err, tt.want)
		}
	}
}

// TestLoadConfigDevResolve: HEARTH_DEV_RESOLVE is parsed at start, and a
// malformed pair stops it with the setting's name.
func TestLoadConfigDevResolve(t *testing.T) {
	for _, tt := range []struct {
		env     string
		want    int
		wantErr bool
	}{
		{"", 0, false},
		{"client.test=127.0.0.1,other.test=::1", 2, false},
		{"client.test", 0, true},
	} {
		c, err := loadConfig(nil, func(k string) string { return map[string]string{"HEARTH_DEV_RESOLVE": tt.env}[k] })
		if (err != nil) != tt.wantErr || (err == nil && len(c.devHosts) != tt.want) {
			t.Errorf("%q: %v names, err %v; want %d (error %v)", tt.env, c.devHosts, err, tt.want, tt.wantErr)
		}
	}
}
