// Package auth holds the tokens and secrets of Hearth's sessions: compact
// JWTs (HS256 for the PDS's own access and refresh tokens; ES256K and ES256
// for service auth signed with repo keys), and password hashing with scrypt
// sized for a Raspberry Pi 4.
//
// Token checks are strict: the algorithm must be the one the caller expects
// (never taken from the token), and audience, expiry and scope are checked
// by the caller-provided expectations.
package auth
