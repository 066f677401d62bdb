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
