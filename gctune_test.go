package main

import "testing"

func TestGCSetting(t *testing.T) {
	for _, tc := range []struct {
		name        string
		env         map[string]string
		wantPercent int
		wantLimit   int64
	}{
		{"nothing set: Hearth's pair", nil, gcPercent, gcLimit},
		{"GOGC set: the runtime's", map[string]string{"GOGC": "100"}, -1, -1},
		{"GOMEMLIMIT set: the runtime's", map[string]string{"GOMEMLIMIT": "64MiB"}, -1, -1},
		{"both set", map[string]string{"GOGC": "off", "GOMEMLIMIT": "64MiB"}, -1, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, l := gcSetting(func(k string) string { return tc.env[k] })
			if p != tc.wantPercent || l != tc.wantLimit {
				t.Fatalf("gcSetting = %d, %d; want %d, %d", p, l, tc.wantPercent, tc.wantLimit)
			}
		})
	}
}
