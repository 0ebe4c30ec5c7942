package keyringstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync/atomic"

	dbus "github.com/godbus/dbus/v5"
	gokeyring "github.com/zalando/go-keyring"
	ss "github.com/zalando/go-keyring/secret_service"

	"github.com/freshtoken/freshtoken/store"
)

const systemName = "system keychain (Secret Service)"

const (
	secretsName    = "org.freedesktop.secrets"
	secretsPath    = "/org/freedesktop/secrets"
	loginKeyring   = "/org/freedesktop/secrets/collection/login"
	propCollection = "org.freedesktop.Secret.Service.Collections"
	itemAttributes = "org.freedesktop.Secret.Item.Attributes"
)

// check asks the session bus for the Secret Service and the keyring the
// keychain library writes to (the "login" keyring, else the default one),
// on a connection of its own: no D-Bus is started (godbus would run
// dbus-launch to make one) and no unlock prompt is raised, which would
// wait forever where nobody can answer it. Check bounds how long it waits.
func check(ctx context.Context) error {
	conn, err := sessionBus()
	if err != nil {
		return err
	}
	defer conn.Close()
	svc := conn.Object(secretsName, secretsPath)
	var collections []dbus.ObjectPath
	if err := getProperty(ctx, svc, propCollection, &collections); err != nil {
		if servedHere() {
			return goneError(serviceGone, err)
		}
		if noService(err) {
			return absent("no Secret Service is running on the D-Bus session bus (install and start gnome-keyring, KWallet or KeePassXC's Secret Service)")
		}
		return absent(fmt.Sprintf("the Secret Service did not answer (%v)", err))
	}
	servedOn.Store(os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	keyring := dbus.ObjectPath(loginKeyring)
	if !slices.Contains(collections, keyring) {
		if err := svc.CallWithContext(ctx, "org.freedesktop.Secret.Service.ReadAlias", 0, "default").Store(&keyring); err != nil || keyring == "/" {
			return absent("the Secret Service has no default keyring (create one in your desktop's Passwords and Keys)")
		}
	}
	var locked bool
	if err := getProperty(ctx, conn.Object(secretsName, keyring), "org.freedesktop.Secret.Collection.Locked", &locked); err != nil {
		return absent(fmt.Sprintf("the Secret Service did not say whether its keyring is locked (%v)", err))
	}
	if locked {
		return &UnusableError{kind: ErrLocked, reason: fmt.Sprintf("%v (keyring %s); unlock it (log in to the desktop, or open Passwords and Keys and unlock it)", ErrLocked, keyring), fix: tokensFix}
	}
	return nil
}

// servedOn is the session bus on which the Secret Service last answered
// check in this process: one gone from that bus since (its daemon killed,
// crashed or restarting) is a keychain to wait for, as a locked one is,
// not a system without one, which a renewal's answer would not wait for,
// the command exiting 2, a configuration error.
var servedOn atomic.Value // string

// servedHere says whether the Secret Service answered check in this
// process on the session bus it is given now (see servedOn).
func servedHere() bool {
	bus := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	return bus != "" && servedOn.Load() == bus
}

// noService reports whether err says that no Secret Service is on the bus.
func noService(err error) bool {
	var de dbus.Error
	return errors.As(err, &de) && (de.Name == "org.freedesktop.DBus.Error.ServiceUnknown" || de.Name == "org.freedesktop.DBus.Error.NameHasNoOwner")
}

// gone is goneError(serviceGone, err) when err, a call's once check had
// passed, says that no Secret Service is on the bus any more; nil
// otherwise.
func gone(err error) error {
	if noService(err) {
		return goneError(serviceGone, err)
	}
	return nil
}

// The causes goneError gives: the Secret Service gone from the session
// bus, or the bus itself.
const (
	serviceGone = "the Secret Service this process used is gone from the D-Bus session bus: its keychain daemon (gnome-keyring-daemon, KWallet or KeePassXC) stopped"
	busGone     = "the D-Bus session bus on which this process used the Secret Service cannot be reached now: its dbus-daemon stopped, and the keychain daemon (gnome-keyring-daemon, KWallet or KeePassXC) with it"
)

// goneError says that what this process reached the Secret Service
// through went away (cause, err): a keychain to start again, and wait for.
func goneError(cause string, err error) error {
	return &UnusableError{kind: store.ErrUnreachable, reason: fmt.Sprintf("%v: %s (%v); start it again, or log out of the desktop and in again", store.ErrUnreachable, cause, err), fix: tokensFix}
}

// sessionBus is a connection of its own to the session bus, started by
// nobody: an error saying why there is none. A bus on which the Secret
// Service answered this process before (see servedOn) and that cannot be
// reached now (its dbus-daemon crashed or restarting, the desktop session
// ended under a long-running process) is a keychain to wait for, as one
// whose daemon stopped is, not a system without one.
func sessionBus() (*dbus.Conn, error) {
	unusable := func(why string, err error) error {
		if servedHere() {
			return goneError(busGone, err)
		}
		return absent(fmt.Sprintf("%s (%v)", why, err))
	}
	conn, err := dbus.SessionBusPrivateNoAutoStartup()
	if err != nil {
		if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
			return nil, absent("no D-Bus session bus was found: DBUS_SESSION_BUS_ADDRESS is not set")
		}
		return nil, unusable("the D-Bus session bus could not be reached", err)
	}
	if err := conn.Auth(nil); err != nil {
		conn.Close()
		return nil, unusable("the D-Bus session bus refused this user", err)
	}
	if err := conn.Hello(); err != nil {
		conn.Close()
		return nil, unusable("the D-Bus session bus did not answer", err)
	}
	return conn, nil
}

// owns says whether account is env's: its head's or one of its parts'.
func owns(env, account string) bool {
	_, _, ok := partOf(env, account)
	return ok || account == env
}

// The attributes freshtoken adds to each item of an environment's record
// (its head and parts), beside the keychain library's service and
// username: recordAttribute marks every such item, envAttribute names its
// environment. A save then finds its environment's items by one search,
// where it read the attributes of every item under the service, one call
// each (1,500 items, 2000 environments: most of a second per save). Items
// without them (written by an older freshtoken, whose keychain library
// writes its own two alone, and replaces any others) are still found, by
// reading every such item's, and are given them.
const (
	recordAttribute = "freshtoken_record"
	envAttribute    = "freshtoken_env"
)

// attributeReads counts the items whose attributes accounts read, and
// attributeWrites the items marked, for tests.
var attributeReads, attributeWrites atomic.Int64

// accounts lists the account of every item of env's under service, as owns
// says, in the keyring the keychain library writes to (the "login"
// keyring, else the default one), whatever others are missing. The items
// marked as env's are found by their attributes; the items not marked at
// all (found by the service attribute, as `secret-tool search service
// SERVICE` finds them) are read one by one, and env's among them are
// marked. Another environment's items are never changed: an older
// freshtoken may be writing them.
func accounts(ctx context.Context, service, env string) ([]string, error) {
	conn, err := sessionBus()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	keyring := collection(ctx, conn)
	all, err := search(ctx, keyring, map[string]string{"service": service})
	if err != nil {
		return nil, err
	}
	marked, err := search(ctx, keyring, map[string]string{"service": service, recordAttribute: "1"})
	if err != nil {
		return nil, err
	}
	mine, err := search(ctx, keyring, marks(map[string]string{"service": service}, env))
	if err != nil {
		return nil, err
	}
	isMarked := make(map[dbus.ObjectPath]bool, len(marked))
	for _, item := range marked {
		isMarked[item] = true
	}
	for _, item := range all {
		if !isMarked[item] {
			mine = append(mine, item)
		}
	}
	var found []string
	for _, item := range mine {
		var attrs map[string]string
		attributeReads.Add(1)
		if err := getProperty(ctx, conn.Object(secretsName, item), itemAttributes, &attrs); err != nil {
			if errors.Is(vanished(err), gokeyring.ErrNotFound) {
				continue
			}
			return nil, err
		}
		if !owns(env, attrs["username"]) {
			continue
		}
		found = append(found, attrs["username"])
		if attrs[recordAttribute] != "1" || attrs[envAttribute] != env {
			mark(ctx, conn.Object(secretsName, item), marks(attrs, env))
		}
	}
	return found, nil
}

// marks is attrs, an item's attributes, with those that find it as env's.
func marks(attrs map[string]string, env string) map[string]string {
	attrs = maps.Clone(attrs)
	attrs[recordAttribute], attrs[envAttribute] = "1", env
	return attrs
}

// mark sets item's attributes to attrs. A failure leaves it as it was,
// found by the service alone, as before.
func mark(ctx context.Context, item dbus.BusObject, attrs map[string]string) {
	attributeWrites.Add(1)
	dot := strings.LastIndex(itemAttributes, ".")
	item.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Set", 0, itemAttributes[:dot], itemAttributes[dot+1:], dbus.MakeVariant(attrs))
}

// collection is the keyring the keychain library writes to: the "login"
// keyring, else the default one.
func collection(ctx context.Context, conn *dbus.Conn) dbus.BusObject {
	path := dbus.ObjectPath(loginKeyring)
	var collections []dbus.ObjectPath
	if getProperty(ctx, conn.Object(secretsName, secretsPath), propCollection, &collections) != nil || !slices.Contains(collections, path) {
		path = "/org/freedesktop/secrets/aliases/default"
	}
	return conn.Object(secretsName, path)
}

// search lists the items of keyring that have attrs among theirs.
func search(ctx context.Context, keyring dbus.BusObject, attrs map[string]string) ([]dbus.ObjectPath, error) {
	var items []dbus.ObjectPath
	err := keyring.CallWithContext(ctx, "org.freedesktop.Secret.Collection.SearchItems", 0, attrs).Store(&items)
	return items, err
}

// writeItem keeps value as env's item account under service, marked as
// env's, in one write to the keychain: the item already marked is given
// the value alone, and one not yet marked (an older freshtoken's) is
// marked first. The keychain library's Set replaces an item's attributes
// with its own two: marking them again after each write doubled a save's
// writes, each of which the Secret Service may make by rewriting its whole
// keyring file. An item the Secret Service would create only after a
// prompt is left to the keychain library, unmarked. It waits for every
// answer, as the keychain library does: bounded abandons a call given up
// on, and holds the next until it is answered, so that its write never
// lands after a later one.
func writeItem(service, env, account, value string) error {
	ctx := context.Background()
	conn, err := sessionBus()
	if err != nil {
		return err
	}
	defer conn.Close()
	keyring := collection(ctx, conn)
	attrs := marks(map[string]string{"service": service, "username": account}, env)
	items, err := search(ctx, keyring, attrs)
	if err == nil && len(items) == 0 {
		items, err = search(ctx, keyring, map[string]string{"service": service, "username": account})
		if len(items) > 0 {
			mark(ctx, conn.Object(secretsName, items[0]), attrs)
		}
	}
	if err != nil {
		return err
	}
	var session dbus.ObjectPath
	var none dbus.Variant
	if err := conn.Object(secretsName, secretsPath).CallWithContext(ctx, "org.freedesktop.Secret.Service.OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&none, &session); err != nil {
		return err
	}
	defer conn.Object(secretsName, session).CallWithContext(ctx, "org.freedesktop.Secret.Session.Close", 0)
	secret := ss.NewSecret(session, value)
	if len(items) > 0 {
		err := conn.Object(secretsName, items[0]).CallWithContext(ctx, "org.freedesktop.Secret.Item.SetSecret", 0, secret).Err
		if !errors.Is(vanished(err), gokeyring.ErrNotFound) {
			return err
		}
	}
	props := map[string]dbus.Variant{
		"org.freedesktop.Secret.Item.Label": dbus.MakeVariant(fmt.Sprintf("Password for '%s' on '%s'", account, service)),
		itemAttributes:                      dbus.MakeVariant(attrs),
	}
	var item, prompt dbus.ObjectPath
	if err := keyring.CallWithContext(ctx, "org.freedesktop.Secret.Collection.CreateItem", 0, props, secret, true).Store(&item, &prompt); err != nil {
		return err
	}
	if prompt != "/" {
		return librarySet(service, account, value)
	}
	return nil
}

// librarySet is the keychain library's Set, on the session bus connection
// the library shares in this process, once gnome-keyring-daemon has taken
// that connection on: the daemon makes its record of a connection from its
// first message at a moment of its own, and Set begins with OpenSession,
// which needs the record. Sent first (a process's first keychain call the
// client secret's save, as at `init --client-secret-keyring`), it could be
// answered "not implemented" and abort the daemon. A read of the service's
// Collections, as the library's other calls and this package's own
// connections begin with, needs none, and comes back once the record is
// made.
func librarySet(service, account, value string) error {
	if conn, err := dbus.SessionBus(); err == nil {
		var collections []dbus.ObjectPath
		getProperty(context.Background(), conn.Object(secretsName, secretsPath), propCollection, &collections)
	}
	return gokeyring.Set(service, account, value)
}

// getProperty reads the property prop (INTERFACE.NAME) of obj into into.
func getProperty(ctx context.Context, obj dbus.BusObject, prop string, into any) error {
	dot := strings.LastIndex(prop, ".")
	var v dbus.Variant
	if err := obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, prop[:dot], prop[dot+1:]).Store(&v); err != nil {
		return err
	}
	return dbus.Store([]any{v.Value()}, into)
}

func absent(why string) error {
	return &UnusableError{kind: ErrNoKeychain, reason: fmt.Sprintf("%v: %s; start a desktop session with a keychain", ErrNoKeychain, why), fix: tokensFix}
}

// vanished is err, from a call that found an item and then used it, as
// keyring.ErrNotFound when the item was deleted in between (another
// process logging out, or a save clearing its old parts): the keychain
// library passes on the Secret Service's answer for an item path it no
// longer serves (gnome-keyring: UnknownMethod, "Object does not exist at
// path /org/freedesktop/secrets/collection/login/7" or "No such interface
// org.freedesktop.Secret.Item" on it; the spec's NoSuchObject), which is no
// failure of the keychain.
func vanished(err error) error {
	var de dbus.Error
	if !errors.As(err, &de) {
		return err
	}
	switch de.Name {
	case "org.freedesktop.Secret.Error.NoSuchObject", "org.freedesktop.DBus.Error.UnknownObject", "org.freedesktop.DBus.Error.UnknownMethod":
		if strings.Contains(de.Error(), "/org/freedesktop/secrets/collection/") {
			return gokeyring.ErrNotFound
		}
	}
	return err
}
