// Package access holds the security policy that every transport of the streamer applies
// in the same way: secrets (the viewing and control tokens) compared in constant time,
// where each transport finds them (Authorization header, query, RTMP connect), call rate
// limits, the admission of connections, viewers and sessions under configured limits, and
// per-address budgets for clients that are not viewers yet (Guard).
// Transports only translate their requests into these calls.
package access

import (
	"crypto/sha256"
	"crypto/subtle"
)

// Secret is a token that clients must present. Only its SHA-256 digest is kept, so a
// Secret printed or logged by mistake does not reveal it. The zero Secret requires nothing.
type Secret struct {
	digest [sha256.Size]byte
	set    bool
}

// NewSecret returns the Secret s; an empty s requires nothing.
func NewSecret(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{digest: sha256.Sum256([]byte(s)), set: true}
}

// Required reports whether clients must present the secret.
func (s Secret) Required() bool { return s.set }

// Match reports whether any candidate equals the secret; it is true for every request when
// no secret is required. The digests of the candidates are compared with the secret's in
// constant time, and every candidate is examined, so that the time taken depends on neither
// the contents nor the lengths of the candidates nor on which of them matched.
func (s Secret) Match(candidates ...string) bool {
	if !s.set {
		return true
	}
	return matchDigest(s.digest, candidates, digest)
}

// String hides the secret (and its digest, which would let a short token be guessed
// offline): it says only whether one is required.
func (s Secret) String() string {
	if s.set {
		return "secret(required)"
	}
	return "secret(none)"
}

func digest(c string) [sha256.Size]byte { return sha256.Sum256([]byte(c)) }

// matchDigest hashes every candidate with hash and compares it with want in constant time.
func matchDigest(want [sha256.Size]byte, candidates []string, hash func(string) [sha256.Size]byte) bool {
	match := 0
	for _, c := range candidates {
		got := hash(c)
		match |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	return match == 1
}
