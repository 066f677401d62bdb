package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/scrypt"
)

// Scrypt cost: N=2^14, r=8, p=1, the reference PDS's (Node's scrypt
// defaults). It uses 16 MiB and about 50 ms on a Raspberry Pi 4. 2^15 doubled
// both, and the sign-up alone lifted the daemon's anonymous memory to 44 MiB,
// above what the rest of it uses under load; hashes made at that cost (the
// cost is written in each hash) still verify.
const (
	scryptLogN = 14
	scryptR    = 8
	scryptP    = 1
	keyLen     = 32
)

// bigHash is the scrypt working set (128·r·N bytes) from which a hash is
// made one at a time and its memory given back to the system at once.
const bigHash = 8 << 20

// hashing serialises the big hashes: two logins at once would otherwise
// hold 64 MiB, more than the rest of the daemon under load.
var hashing sync.Mutex

// scryptKey is scrypt.Key with N = 2^logN. A hash of the default cost
// allocates 32 MiB, which the runtime would keep (and count towards its
// next heap goal) long after the login: the memory goes back to the system
// right away. A login is floored to 350 ms; the collection this costs is a
// few milliseconds.
func scryptKey(password, salt []byte, logN, r, p, n int) ([]byte, error) {
	if 128*r<<logN < bigHash {
		return scrypt.Key(password, salt, 1<<logN, r, p, n)
	}
	hashing.Lock()
	defer hashing.Unlock()
	dk, err := scrypt.Key(password, salt, 1<<logN, r, p, n)
	debug.FreeOSMemory()
	return dk, err
}

// ErrPassword reports a password that does not match.
var ErrPassword = errors.New("auth: wrong password")

// HashPassword returns a self-describing scrypt hash of password.
func HashPassword(password string) (string, error) {
	return HashPasswordCost(password, scryptLogN)
}

// HashPasswordCost hashes with N = 2^logN; tests use a small cost.
func HashPasswordCost(password string, logN int) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	dk, err := scryptKey([]byte(password), salt, logN, scryptR, scryptP, keyLen)
	if err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	e := base64.RawStdEncoding
	return fmt.Sprintf("scrypt$%d$%d$%d$%s$%s", logN, scryptR, scryptP, e.EncodeToString(salt), e.EncodeToString(dk)), nil
}

// CheckPassword compares password with a hash from HashPassword.
func CheckPassword(hash, password string) error {
	f := strings.Split(hash, "$")
	if len(f) != 6 || f[0] != "scrypt" {
		return fmt.Errorf("auth: unknown password hash format")
	}
	logN, err1 := strconv.Atoi(f[1])
	r, err2 := strconv.Atoi(f[2])
	p, err3 := strconv.Atoi(f[3])
	e := base64.RawStdEncoding
	salt, err4 := e.DecodeString(f[4])
	want, err5 := e.DecodeString(f[5])
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil || logN < 1 || logN > 20 || r < 1 || r > 32 || p < 1 || p > 4 {
		return fmt.Errorf("auth: corrupt password hash")
	}
	dk, err := scryptKey([]byte(password), salt, logN, r, p, len(want))
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(dk, want) != 1 {
		return ErrPassword
	}
	return nil
}

// RandomToken returns n random bytes as unpadded base32-ish text, for ids
// and secrets.
func RandomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // the system has no entropy: nothing sensible to do
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
