package registry

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/google/uuid"
)

// keyPrefix starts every API key, so that keys are recognisable in logs and by secret scanners.
const keyPrefix = "pdg_"

// NewAPIKey returns a new random key for role and the record to store. The key has the form
// pdg_<key id, 32 hex digits>_<256 random bits, base64url>; only its SHA-256 is stored.
func NewAPIKey(role string) (string, *APIKey, error) {
	if !contains(Roles, role) {
		return "", nil, FieldErrorf("role", "must be one of ingest, auditor, admin")
	}
	id := uuid.Must(uuid.NewV7())
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return "", nil, err
	}
	key := keyPrefix + hex.EncodeToString(id[:]) + "_" + base64.RawURLEncoding.EncodeToString(secret)
	sum := sha256.Sum256([]byte(key))
	return key, &APIKey{ID: id.String(), Role: role, Hash: sum[:]}, nil
}

// parseKey returns the key id embedded in a key, or ok false if the key is not of the registry's form.
func parseKey(key string) (id string, ok bool) {
	rest, found := strings.CutPrefix(key, keyPrefix)
	if !found || len(rest) != 32+1+43 || rest[32] != '_' {
		return "", false
	}
	b, err := hex.DecodeString(rest[:32])
	if err != nil {
		return "", false
	}
	u, err := uuid.FromBytes(b)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// Authenticate returns the stored key that matches key, comparing hashes in constant time. An
// unknown, malformed or revoked key is EUNAUTHORIZED, with the same message for all three.
func Authenticate(ctx context.Context, store Store, key string) (*APIKey, error) {
	unauthorized := Errorf(EUNAUTHORIZED, "the API key is not valid")
	id, ok := parseKey(key)
	if !ok {
		return nil, unauthorized
	}
	k, err := store.GetKey(ctx, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil, unauthorized
	}
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(key))
	if subtle.ConstantTimeCompare(sum[:], k.Hash) != 1 || k.RevokedAt != nil {
		return nil, unauthorized
	}
	return k, nil
}

// Allows reports whether a key with role may use a route open to the given roles. Admin may use
// every route.
func Allows(role string, allowed []string) bool {
	return role == RoleAdmin || contains(allowed, role)
}

// CreateKey mints and stores a new key for role and returns the key text, which is shown once.
func (s *Service) CreateKey(ctx context.Context, role string) (string, *APIKey, error) {
	key, rec, err := NewAPIKey(role)
	if err != nil {
		return "", nil, err
	}
	rec.CreatedAt = s.now()
	if err := WriteKey(ctx, s.Store, rec); err != nil {
		return "", nil, err
	}
	return key, rec, nil
}

// RevokeKey revokes a key now and returns it; revoking a revoked key changes nothing.
func (s *Service) RevokeKey(ctx context.Context, id string) (*APIKey, error) {
	return RevokeKey(ctx, s.Store, id, s.now())
}
