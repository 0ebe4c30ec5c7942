// Package keyringstore keeps each environment's tokens in the system's
// keychain: the Secret Service on Linux (GNOME Keyring, KWallet, KeePassXC),
// the login Keychain on macOS, the Credential Manager on Windows.
//
// Invariants: a record is the JSON every store writes, cut into parts no
// larger than any of those systems takes in one item (Windows: 2560 bytes),
// kept in one of two slots; a small head item names the slot, the number of
// parts and their checksum, and a Save writes the other slot in full before
// it replaces the head, so a reader (or a writer killed at any point) sees
// the old record or the new one, never a mix. A record whose parts do not
// match their head is reported and left as it is. Nothing is ever written
// anywhere but the keychain: a keychain that is missing or locked is an
// error that says so. Renewal locks are the file store's lock files in a
// folder the caller names, one for every process of the user (as the
// keychain is), so renewals are single-flight exactly as with files.
package keyringstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/zalando/go-keyring"

	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// DefaultService is the service name the items are kept under.
const DefaultService = "freshtoken"

// partSize is the most a part holds: under Windows' 2560-byte limit on a
// credential, and under macOS's 4096-byte limit on the `security` command
// line that stores it once base64 has grown it by a third.
const partSize = 2000

// ErrNoKeychain means this system has no keychain freshtoken can reach (no
// D-Bus session, or no Secret Service on it): a setting to change, not an
// outage to wait out.
var ErrNoKeychain = errors.New("no system keychain")

// ErrLocked means the keychain is there but locked; it wraps
// store.ErrUnreachable, as the keychain is unavailable until a person
// unlocks it.
var ErrLocked = fmt.Errorf("%w: the system keychain is locked", store.ErrUnreachable)

// tokensFix ends a message about a keychain the tokens cannot be kept in;
// secretFix one about a keychain the client secret cannot be kept in.
const (
	tokensFix = "or keep the tokens in files instead: take the keyring:// url out of [store] in the config"
	// renewalFix ends a message about a keychain that cannot take a
	// renewal's answer: the process keeps the rotated tokens until the
	// keychain takes them, and a store named instead would never see them.
	renewalFix = "and keep keyring:// in [store] until then: the new tokens waiting to be stored go only there"
	secretFix  = "or keep the client secret in an environment variable instead"
)

// UnusableError is a keychain freshtoken cannot use now: there is none
// (it wraps ErrNoKeychain), it is locked (ErrLocked), or it failed
// (store.ErrUnreachable). Its message ends with what to do instead, for
// what the keychain was to hold; WithFix gives the same error with other
// advice, for a caller that knows better (store migrate's --to).
type UnusableError struct {
	kind   error
	reason string // what happened, and how to make the keychain usable
	fix    string // what to do instead
}

func (e *UnusableError) Error() string { return e.reason + ", " + e.fix }

func (e *UnusableError) Unwrap() error { return e.kind }

// WithFix is err, if it is a keychain that could not be used (an
// UnusableError), ending with fix ("or …") instead of its own advice;
// any other err as it is.
func WithFix(err error, fix string) error {
	var ue *UnusableError
	if errors.As(err, &ue) {
		return &UnusableError{kind: ue.kind, reason: ue.reason, fix: fix}
	}
	return err
}

// Store is the system keychain, holding each environment's record under
// one service name.
type Store struct {
	service string
	lockDir string
	locks   *filestore.Store

	mu   sync.Mutex
	held map[string]bool // environments whose renewal lock this Store holds
}

// New returns a store keeping records under service in the system
// keychain (DefaultService is the command line's), with its renewal lock
// files in lockDir. An empty service names none, as the zero Store does:
// every call fails, saying so.
func New(service, lockDir string) *Store {
	return &Store{service: service, lockDir: lockDir, locks: filestore.NewLocks(lockDir)}
}

// head is the item that says where a record's parts are.
type head struct {
	Slot   string `json:"slot"`
	Parts  int    `json:"parts"`
	SHA256 string `json:"sha256"`
}

func (s *Store) partAccount(env, slot string, i int) string {
	return env + "." + slot + "." + strconv.Itoa(i)
}

// Location implements store.Store.
func (s *Store) Location(env string) string {
	return fmt.Sprintf("%s (service %q, account %q)", systemName, s.service, env)
}

// Load implements store.Store. A reader racing writers may find the head
// moved on under it, its parts cleared or rewritten by a newer save; it
// then reads again, for as long as the head keeps moving (each move is a
// save completed, so the record read next is newer), and reports the parts
// as not matching only when the head it read is still the head.
func (s *Store) Load(ctx context.Context, env string) (*store.Record, error) {
	if err := s.ready(ctx, env); err != nil {
		return nil, err
	}
	h, err := s.head(ctx, env)
	for err == nil {
		data, perr := s.parts(ctx, env, h)
		if perr == nil {
			return store.Unmarshal(data, s.Location(env))
		}
		if !errors.Is(perr, store.ErrCorrupt) {
			return nil, perr
		}
		var now *head
		if now, err = s.head(ctx, env); err == nil && *now == *h {
			return nil, perr // not moved on: the parts are wrong
		}
		h = now
	}
	return nil, err // none (deleted meanwhile: a log-out), or unreadable
}

// head reads env's head item: store.ErrNotFound if there is none.
func (s *Store) head(ctx context.Context, env string) (*head, error) {
	v, err := get(ctx, s.service, env)
	if errors.Is(err, keyring.ErrNotFound) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var h head
	if json.Unmarshal([]byte(v), &h) != nil || h.Parts < 1 || h.Slot != "a" && h.Slot != "b" {
		return nil, fmt.Errorf("%w: %s does not say where the tokens are; it was left as it is, and a log-in replaces it", store.ErrCorrupt, s.Location(env))
	}
	return &h, nil
}

// parts reads and checks the parts h names.
func (s *Store) parts(ctx context.Context, env string, h *head) ([]byte, error) {
	var data []byte
	for i := 1; i <= h.Parts; i++ {
		v, err := get(ctx, s.service, s.partAccount(env, h.Slot, i))
		if errors.Is(err, keyring.ErrNotFound) {
			return nil, fmt.Errorf("%w: %s lacks part %d of %d of its tokens; it was left as it is, and a log-in replaces it", store.ErrCorrupt, s.Location(env), i, h.Parts)
		}
		if err != nil {
			return nil, err
		}
		data = append(data, v...)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != h.SHA256 {
		return nil, fmt.Errorf("%w: the parts of %s do not match their checksum; they were left as they are, and a log-in replaces them", store.ErrCorrupt, s.Location(env))
	}
	return data, nil
}

// Save implements store.Store: the new parts go into the slot the head does
// not name, then the head is replaced, then what is left of a larger record
// in that slot and the old slot are cleared.
func (s *Store) Save(ctx context.Context, env string, r *store.Record) error {
	return s.save(ctx, env, r, nil)
}

// SaveIf implements store.Swapper: Save, only over the record read, as
// store.Unchanged compares them. The keychain is asked nothing before the
// new head is written that it need not be: a renewal's answer, whose
// refresh token the provider has rotated, is lost to a SIGKILL until then.
// A keychain that cannot take a renewal's answer (r renews read: renewed
// more times) is said to be one to unlock, and to keep in [store], since
// the answer waits to go there alone; one that cannot take other tokens (a
// log-in's, an import's, a note's) is said to be one to unlock, or to
// leave for files, as Save says it: nothing waits for it.
func (s *Store) SaveIf(ctx context.Context, env string, r, read *store.Record) error {
	err := s.save(ctx, env, r, read)
	if read != nil && r.Renewals > read.Renewals {
		return WithFix(err, renewalFix)
	}
	return err
}

// save is Save, and with read SaveIf.
func (s *Store) save(ctx context.Context, env string, r, read *store.Record) error {
	if err := s.ready(ctx, env); err != nil {
		return err
	}
	if !s.stillHeld(ctx, env) {
		return fmt.Errorf("could not save the tokens: the lock file %s was removed while this renewer held it, so another renewer may have stored newer tokens; nothing was written", filepath.Join(s.lockDir, env+".lock"))
	}
	data, err := store.Marshal(env, r)
	if err != nil {
		return err
	}
	old, err := s.head(ctx, env)
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrCorrupt) {
		return err
	}
	if read != nil {
		if err := s.holds(ctx, env, old, read); err != nil {
			return err
		}
	}
	slot := "a"
	if old != nil && old.Slot == "a" {
		slot = "b"
	}
	chunks := split(string(data))
	for i, c := range chunks {
		if err := setRecordItem(ctx, s.service, env, s.partAccount(env, slot, i+1), c); err != nil {
			return err
		}
	}
	sum := sha256.Sum256(data)
	h, _ := json.Marshal(head{Slot: slot, Parts: len(chunks), SHA256: hex.EncodeToString(sum[:])})
	if err := setRecordItem(ctx, s.service, env, env, string(h)); err != nil {
		return err
	}
	// The record is saved, and read by its head alone: parts of larger
	// records left behind in either slot are cleared now, or by the next
	// Save, or by Delete.
	s.sweep(ctx, env, slot, len(chunks))
	return nil
}

// holds says, wrapping store.ErrChanged, why the record under h (nil: none
// readable) is not read, as store.Unchanged compares them; nil if it is.
func (s *Store) holds(ctx context.Context, env string, h *head, read *store.Record) error {
	data, err := []byte(nil), store.ErrNotFound
	if h != nil {
		data, err = s.parts(ctx, env, h)
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrCorrupt) {
		return fmt.Errorf("%w: %s holds no tokens it held when read; nothing was written", store.ErrChanged, s.Location(env))
	}
	if err != nil {
		return err
	}
	cur, err := store.Unmarshal(data, s.Location(env))
	if err != nil || !store.Unchanged(cur, read) {
		return fmt.Errorf("%w: %s was changed by another renewer or a log-in; nothing was written", store.ErrChanged, s.Location(env))
	}
	return nil
}

// split cuts data into parts of at most partSize bytes, never inside a
// character.
func split(data string) []string {
	var parts []string
	for len(data) > partSize {
		n := partSize
		for n > 0 && !utf8.RuneStart(data[n]) {
			n--
		}
		parts = append(parts, data[:n])
		data = data[n:]
	}
	return append(parts, data)
}

// clear deletes the parts of env's slot from the from-th on.
func (s *Store) clear(ctx context.Context, env, slot string, from int) error {
	for i := from; ; i++ {
		err := remove(ctx, s.service, s.partAccount(env, slot, i))
		if errors.Is(err, keyring.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Delete implements store.Store: the head goes first, so the record is
// gone at once, then every part of both slots, whichever are missing (a
// Delete killed half-way, a part removed by hand) where the keychain is
// searched, so no token is left behind after a log-out; and, as the lock
// is let go, its lock file, unless the file store keeps a record of the
// same name in the lock folder.
func (s *Store) Delete(ctx context.Context, env string) error {
	if err := s.ready(ctx, env); err != nil {
		return err
	}
	if err := remove(ctx, s.service, env); err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return err
	}
	s.locks.ForgetLock(env) // its lock file goes as the lock is let go
	return s.sweep(ctx, env, "", 0)
}

// sweep removes env's parts but the first keep of slot. Where the keychain
// is searched (the Secret Service), every part of env's found under the
// service goes, whichever others are missing; elsewhere each slot's are
// removed in turn up to the first one missing.
func (s *Store) sweep(ctx context.Context, env, slot string, keep int) error {
	found, err := bounded(ctx, func(ctx context.Context) ([]string, error) { return accounts(ctx, s.service, env) })
	if errors.Is(err, errNotSearched) {
		for _, sl := range []string{"a", "b"} {
			from := 1
			if sl == slot {
				from = keep + 1
			}
			if err := s.clear(ctx, env, sl, from); err != nil {
				return err
			}
		}
		return nil
	}
	if err != nil {
		return worded(err)
	}
	for _, account := range found {
		if sl, i, ok := partOf(env, account); !ok || sl == slot && i <= keep {
			continue
		}
		if err := remove(ctx, s.service, account); err != nil && !errors.Is(err, keyring.ErrNotFound) {
			return err
		}
	}
	return nil
}

// errNotSearched is accounts' answer where the keychain is not searched:
// parts are then found by trying their accounts in turn.
var errNotSearched = errors.New("the keychain is not searched")

// partOf says which of env's parts account is (ok false: none of them),
// as partAccount names them.
func partOf(env, account string) (slot string, i int, ok bool) {
	rest, ok := strings.CutPrefix(account, env+".")
	if !ok {
		return "", 0, false
	}
	slot, num, ok := strings.Cut(rest, ".")
	i, err := strconv.Atoi(num)
	return slot, i, ok && (slot == "a" || slot == "b") && err == nil && i >= 1 && strconv.Itoa(i) == num
}

// Lock implements store.Store with the file store's lock file for env in
// the state folder. A keychain that cannot be used is reported before the
// lock file is made.
func (s *Store) Lock(ctx context.Context, env string) (func(), error) {
	if err := s.ready(ctx, env); err != nil {
		return nil, err
	}
	unlock, err := s.locks.Lock(ctx, env)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.held == nil {
		s.held = map[string]bool{}
	}
	s.held[env] = true
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.held, env)
		s.mu.Unlock()
		unlock()
	}, nil
}

// HoldsLock implements store.LockChecker, as the file store does: a lock
// file removed while its lock is held lets the next renewer take a lock on
// a new one.
func (s *Store) HoldsLock(ctx context.Context, env string) (bool, error) {
	if s.service == "" || s.locks == nil {
		return false, errNotMade
	}
	return s.locks.HoldsLock(ctx, env)
}

// StuckHolders implements store.StuckHolderTeller, as the file store does:
// its locks are the same lock files.
func (s *Store) StuckHolders() func(env string) string {
	if s.locks == nil {
		return func(string) string { return "" }
	}
	return s.locks.StuckHolders()
}

// stillHeld reports whether a Save of env may write: when this Store holds
// env's lock, only while its lock file is still the one locked.
func (s *Store) stillHeld(ctx context.Context, env string) bool {
	s.mu.Lock()
	held := s.held[env]
	s.mu.Unlock()
	if !held {
		return true
	}
	ok, _ := s.locks.HoldsLock(ctx, env)
	return ok
}

// errNotMade is every call's error on a Store that New did not make, or
// made with no service name.
var errNotMade = errors.New("the keychain store was given no service name (keyringstore.New(\"\", …), or the zero keyringstore.Store), so it keeps no tokens; make it with keyringstore.New, naming the service (keyringstore.DefaultService) and the folder of its lock files")

// ready refuses a Store that New did not make, a bad environment name,
// and a keychain that is missing or locked.
func (s *Store) ready(ctx context.Context, env string) error {
	if s.service == "" || s.locks == nil {
		return errNotMade
	}
	if err := store.ValidateEnvName(env); err != nil {
		return err
	}
	return Check(ctx)
}

// Check reports whether the system keychain can be used now: an error
// wrapping ErrNoKeychain when there is none, ErrLocked when it is locked,
// or store.ErrUnreachable when it did not answer in time.
func Check(ctx context.Context) error {
	_, err := bounded(ctx, func(ctx context.Context) (struct{}, error) { return struct{}{}, check(ctx) })
	return err
}

// failed words an error from the keychain for people: one whose Secret
// Service is gone (its daemon stopped between check and the call) as one
// to start again.
func failed(err error) error {
	if g := gone(err); g != nil {
		return g
	}
	return &UnusableError{kind: store.ErrUnreachable, reason: fmt.Sprintf("%v: the %s failed (%v); unlock it", store.ErrUnreachable, systemName, err), fix: tokensFix}
}

// clientSecretAccount is the account of the secret clientID uses at
// provider (an issuer or a token endpoint): one per client and provider,
// since two providers may give one client id to different clients, and
// each is sent only its own. It cannot be an environment's, whose names
// hold no colon.
func clientSecretAccount(clientID, provider string) string {
	return "client_secret:" + clientID + " at " + provider
}

// ClientSecret returns the client secret kept in the keychain for clientID
// at provider, under DefaultService; store.ErrNotFound when there is none.
func ClientSecret(ctx context.Context, clientID, provider string) (string, error) {
	if err := Check(ctx); err != nil {
		return "", WithFix(err, secretFix)
	}
	v, err := get(ctx, DefaultService, clientSecretAccount(clientID, provider))
	if errors.Is(err, keyring.ErrNotFound) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", WithFix(err, secretFix)
	}
	return v, nil
}

// SetClientSecret keeps secret in the keychain as clientID's at provider.
func SetClientSecret(ctx context.Context, clientID, provider, secret string) error {
	if err := Check(ctx); err != nil {
		return WithFix(err, secretFix)
	}
	if err := set(ctx, DefaultService, clientSecretAccount(clientID, provider), secret); err != nil {
		return WithFix(err, secretFix)
	}
	return nil
}

// DeleteClientSecret removes the client secret kept in the keychain for
// clientID at provider; none there is no error.
func DeleteClientSecret(ctx context.Context, clientID, provider string) error {
	if err := Check(ctx); err != nil {
		return WithFix(err, secretFix)
	}
	if err := remove(ctx, DefaultService, clientSecretAccount(clientID, provider)); err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return WithFix(err, secretFix)
	}
	return nil
}

// ClientSecretLocation says where ClientSecret looks, for people.
func ClientSecretLocation(clientID, provider string) string {
	return fmt.Sprintf("%s (service %q, account %q)", systemName, DefaultService, clientSecretAccount(clientID, provider))
}
