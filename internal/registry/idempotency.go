package registry

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"time"
)

// Idempotency is a creating request's Idempotency-Key with a fingerprint of
// the request (method, path, body) it came with. Replayed is set when the
// answer is the stored answer to an earlier request.
type Idempotency struct {
	Key         string
	Fingerprint []byte
	Replayed    bool
}

// errReplayed ends a transaction whose answer was found under its
// idempotency key: nothing it began is kept.
var errReplayed = errors.New("answered from the idempotency key")

func replayed(err error) error {
	if errors.Is(err, errReplayed) {
		return nil
	}
	return err
}

// scope keeps one principal's keys apart from another's; an anonymous
// request has none, and its key is ignored.
func (c Caller) scope() string {
	switch {
	case c.Bootstrap:
		return "bootstrap-admin"
	case c.UserID != "":
		return "user:" + c.UserID
	}
	return ""
}

// once runs fn, a creating write inside tx, at most once per idempotency key:
// the first run stores its answer (*out) in the same transaction; a later run
// with the same key and request fills *out with that answer and returns
// errReplayed, so that its transaction leaves nothing behind. Because the
// stored answer may hold a secret (a modification code, a token), it is
// sealed with a key derived from the client's Idempotency-Key, which the
// register stores only as a hash.
func (s *Service) once(ctx context.Context, tx Tx, c Caller, at time.Time, out any, fn func() error) error {
	k := c.Idempotency
	scope := c.scope()
	if k == nil || scope == "" {
		return fn()
	}
	id := derive("registry idempotency id", scope, k.Key)
	prior, claimed, err := tx.ClaimIdempotencyKey(ctx, id, k.Fingerprint, at, at.Add(-s.cfg.IdempotencyRetention))
	if err != nil {
		return err
	}
	sealKey := derive("registry idempotency seal", scope, k.Key)
	if !claimed {
		if !bytes.Equal(prior.Fingerprint, k.Fingerprint) {
			return ErrIdempotencyKeyReused
		}
		plain, err := unseal(sealKey, prior.Sealed)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(plain, out); err != nil {
			return err
		}
		k.Replayed = true
		return errReplayed
	}
	if err := fn(); err != nil {
		return err
	}
	plain, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return tx.SaveIdempotentResponse(ctx, id, seal(sealKey, plain))
}

func derive(purpose, scope, key string) []byte {
	h := sha256.New()
	for _, part := range []string{purpose, scope, key} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

func seal(key, plain []byte) []byte {
	aead := gcm(key)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return aead.Seal(nonce, nonce, plain, nil)
}

func unseal(key, sealed []byte) ([]byte, error) {
	aead := gcm(key)
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("stored idempotent answer is truncated")
	}
	return aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], nil)
}

func gcm(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // the key is always 32 bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// IdempotencyStore keeps the answers given to requests with an Idempotency-Key.
type IdempotencyStore interface {
	// ClaimIdempotencyKey records a new key, or returns what an earlier
	// request with it stored (claimed false). A key first used before
	// notBefore has expired: it is claimed anew.
	ClaimIdempotencyKey(ctx context.Context, id, fingerprint []byte, at, notBefore time.Time) (prior IdempotentResponse, claimed bool, err error)
	SaveIdempotentResponse(ctx context.Context, id, sealed []byte) error
	// PurgeIdempotencyKeys deletes up to limit keys (with their sealed
	// answers) first used before before, and says how many.
	PurgeIdempotencyKeys(ctx context.Context, before time.Time, limit int) (int, error)
}

// PurgeIdempotencyKeys deletes the keys older than the retention, and the
// answers sealed under them, a batch at a time, on one instance at a time;
// it returns how many it deleted.
func (s *Service) PurgeIdempotencyKeys(ctx context.Context) (purged int, err error) {
	_, err = s.store.Exclusive(ctx, "registry: purge idempotency keys", func() error {
		before := s.clock().Add(-s.cfg.IdempotencyRetention)
		for {
			n, err := s.store.PurgeIdempotencyKeys(ctx, before, 10000)
			purged += n
			if err != nil || n < 10000 {
				return err
			}
		}
	})
	return purged, err
}
