// Package auth provides opaque bearer tokens (stored only as SHA-256
// hashes), roles and the principal a request acts as.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"

	"github.com/google/uuid"
)

// Role is what a token may do.
type Role string

// The three roles. A super_admin is not tied to a client; the others are.
const (
	RoleSuperAdmin   Role = "super_admin"
	RoleClientAdmin  Role = "client_admin"
	RoleClientViewer Role = "client_viewer"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleSuperAdmin, RoleClientAdmin, RoleClientViewer:
		return true
	}
	return false
}

// TokenPrefix marks Nurture tokens so they are recognisable in secret scanners.
const TokenPrefix = "nrt_"

// NewToken returns a fresh random token (shown once) and its hash (stored).
func NewToken() (token string, hash []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, Hash(token)
}

// Hash is the SHA-256 of a token; the only form the database keeps.
func Hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Equal compares two secrets in constant time (via their hashes, so the
// lengths leak nothing either).
func Equal(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// BearerToken extracts the token from an Authorization header value.
func BearerToken(header string) (string, bool) {
	const p = "bearer "
	if len(header) <= len(p) || !strings.EqualFold(header[:len(p)], p) {
		return "", false
	}
	t := strings.TrimSpace(header[len(p):])
	return t, t != ""
}

// Principal is who a request acts as.
type Principal struct {
	TokenID  uuid.UUID
	Role     Role
	ClientID uuid.UUID // uuid.Nil for super_admin
}

// IsSuper reports whether the principal spans all clients.
func (p Principal) IsSuper() bool { return p.Role == RoleSuperAdmin }

// CanWrite reports whether the principal may change data.
func (p Principal) CanWrite() bool { return p.Role == RoleSuperAdmin || p.Role == RoleClientAdmin }

// Actor is how the principal is named in audit rows.
func (p Principal) Actor() string { return string(p.Role) + ":" + p.TokenID.String() }
