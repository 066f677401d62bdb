package keys

import "testing"

// A commit or a JWT signing input is about this long.
var benchMsg = []byte(`{"did":"did:plc:abcdefghijklmnopqrstuvwx","rev":"3kabcdefghijk","data":"bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"}`)

func BenchmarkSign(b *testing.B) {
	for _, c := range curves {
		k, err := c.gen()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.alg, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Sign(benchMsg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, c := range curves {
		k, err := c.gen()
		if err != nil {
			b.Fatal(err)
		}
		sig, err := k.Sign(benchMsg)
		if err != nil {
			b.Fatal(err)
		}
		pub := k.Public()
		b.Run(c.alg, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := pub.Verify(benchMsg, sig); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseDIDKey covers what every PLC operation check and DID
// document resolution pays before it can verify anything.
func BenchmarkParseDIDKey(b *testing.B) {
	for _, c := range curves {
		k, err := c.gen()
		if err != nil {
			b.Fatal(err)
		}
		did := k.Public().DIDKey()
		b.Run(c.alg, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseDIDKey(did); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
