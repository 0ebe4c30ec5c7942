package keyringstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	dbus "github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"
)

const systemName = "system keychain (Secret Service)"

const (
	secretsName    = "org.freedesktop.secrets"
	secretsPath    = "/org/freedesktop/secrets"
	loginKeyring   = "/org/freedesktop/secrets/collection/login"
	propCollection = "org.freedesktop.Secret.Service.Collections"
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
		var de dbus.Error
		if errors.As(err, &de) && (de.Name == "org.freedesktop.DBus.Error.ServiceUnknown" || de.Name == "org.freedesktop.DBus.Error.NameHasNoOwner") {
			return absent("no Secret Service is running on the D-Bus session bus (install and start gnome-keyring, KWallet or KeePassXC's Secret Service)")
		}
		return absent(fmt.Sprintf("the Secret Service did not answer (%v)", err))
	}
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

// sessionBus is a connection of its own to the session bus, started by
// nobody: an error saying why there is none.
func sessionBus() (*dbus.Conn, error) {
	conn, err := dbus.SessionBusPrivateNoAutoStartup()
	if err != nil {
		why := "no D-Bus session bus was found: DBUS_SESSION_BUS_ADDRESS is not set"
		if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
			why = fmt.Sprintf("the D-Bus session bus could not be reached (%v)", err)
		}
		return nil, absent(why)
	}
	if err := conn.Auth(nil); err != nil {
		conn.Close()
		return nil, absent(fmt.Sprintf("the D-Bus session bus refused this user (%v)", err))
	}
	if err := conn.Hello(); err != nil {
		conn.Close()
		return nil, absent(fmt.Sprintf("the D-Bus session bus did not answer (%v)", err))
	}
	return conn, nil
}

// accounts lists the account of every item under service in the keyring
// the keychain library writes to (the "login" keyring, else the default
// one), found by the service attribute as `secret-tool search service
// SERVICE` finds them, whatever the accounts are.
func accounts(ctx context.Context, service string) ([]string, error) {
	conn, err := sessionBus()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	collection := dbus.ObjectPath(loginKeyring)
	var collections []dbus.ObjectPath
	if getProperty(ctx, conn.Object(secretsName, secretsPath), propCollection, &collections) != nil || !slices.Contains(collections, collection) {
		collection = "/org/freedesktop/secrets/aliases/default"
	}
	var items []dbus.ObjectPath
	if err := conn.Object(secretsName, collection).CallWithContext(ctx, "org.freedesktop.Secret.Collection.SearchItems", 0, map[string]string{"service": service}).Store(&items); err != nil {
		return nil, err
	}
	var found []string
	for _, item := range items {
		var attrs map[string]string
		if err := getProperty(ctx, conn.Object(secretsName, item), "org.freedesktop.Secret.Item.Attributes", &attrs); err != nil {
			if errors.Is(vanished(err), keyring.ErrNotFound) {
				continue
			}
			return nil, err
		}
		found = append(found, attrs["username"])
	}
	return found, nil
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
			return keyring.ErrNotFound
		}
	}
	return err
}
