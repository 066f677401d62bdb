package resolve

import (
	"encoding/json"
	"testing"
)

// FuzzDocument feeds DID documents as a hostile server might send them.
func FuzzDocument(f *testing.F) {
	f.Add([]byte(`{"id":"did:plc:aaaaaaaaaaaaaaaaaaaaaaaa","alsoKnownAs":["at://a.test"],` +
		`"verificationMethod":[{"id":"#atproto","type":"Multikey","publicKeyMultibase":"zQ3shY9ijcKaYqvRHSTxCkptarbmGw528s3a7Qk7iAzYLQGXx"}],` +
		`"service":[{"id":"#atproto_pds","type":"AtprotoPersonalDataServer","serviceEndpoint":"https://pds.example"}]}`))
	f.Add([]byte(`{"id":"x","service":[{"id":"#atproto_pds","serviceEndpoint":{"a":1}}],"verificationMethod":[{"id":"#atproto","type":"EcdsaSecp256k1VerificationKey2019","publicKeyMultibase":"z"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Document
		if json.Unmarshal(data, &d) != nil {
			return
		}
		d.Handle()
		d.SigningKey()
		d.PDSEndpoint()
		d.ServiceEndpoint("atproto_labeler")
	})
}
