package config

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/configfile"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/shellquote"
)

// maxKeyFile bounds what is read of a key file: a PEM private key is a
// few kilobytes.
const maxKeyFile = 64 << 10

// ClientKey reads the private key that key_file names, for
// client_auth = "private_key_jwt". See ReadClientKey.
func (e *Env) ClientKey(context.Context) (crypto.Signer, error) {
	k, err := ReadClientKey(e.KeyFile)
	if err != nil {
		return nil, Invalidf("environment %s: key_file %s", e.Name, err)
	}
	return k, nil
}

// registerPEM masks in every log from now on each PEM block of data, from
// its BEGIN line to its END line, and not the text around them: a file
// that is no key (a configuration named by mistake) holds paths and
// settings that messages name, whose parts would be masked as a secret's.
func registerPEM(data []byte) {
	for {
		start := bytes.Index(data, []byte("-----BEGIN "))
		if start < 0 {
			return
		}
		block, rest := pem.Decode(data[start:])
		if block == nil {
			return
		}
		redact.Register(strings.TrimSpace(string(data[start : len(data)-len(rest)])))
		data = rest
	}
}

// ReadClientKey reads an unencrypted PEM private key, RSA (PKCS #1 or
// PKCS #8) or EC (SEC 1 or PKCS #8), from the file at path, which must
// belong to the user and be neither readable nor writable by anyone else.
// Its text is masked in every log from then on. An error starts with the
// path and says what to do.
func ReadClientKey(path string) (crypto.Signer, error) {
	data, err := readPrivateFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s %w", shellquote.Word(path), err)
	}
	registerPEM(data)
	k, err := parseClientKey(data)
	if errors.Is(err, errOpenSSHKey) {
		return nil, fmt.Errorf("%s holds a private key in OpenSSH's format, which freshtoken cannot read; rewrite it as PEM with `ssh-keygen -p -m PKCS8 -f %s`",
			shellquote.Word(path), shellquote.Word(path))
	}
	if err != nil {
		return nil, fmt.Errorf("%s %w", shellquote.Word(path), err)
	}
	return k, nil
}

// readPrivateFile reads the file at path, following a symlink, once
// configfile.CheckPrivateFile has accepted the file it opened.
func readPrivateFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|configfile.OpenNonblocking, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, errors.New("does not exist; write the client's private key there (PEM), or correct key_file")
	case err != nil:
		return nil, fmt.Errorf("cannot be read (%v)", errors.Unwrap(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot be read (%v)", errors.Unwrap(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("is not a regular file; key_file names a PEM file holding the private key")
	}
	if msg := configfile.CheckPrivateFile(path, fi); msg != "" {
		return nil, errors.New(msg)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("cannot be read (%v)", err)
	}
	if len(data) > maxKeyFile {
		return nil, errors.New("is too large for a PEM private key")
	}
	return data, nil
}

// unsupported is what to use instead of a key that cannot sign.
const unsupported = "use an RSA key (2048 bits or more) or an EC key on P-256 or P-384, such as `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem`"

// errOpenSSHKey is a private key as ssh-keygen writes it by default.
var errOpenSSHKey = errors.New("an OpenSSH private key")

// parseClientKey reads the private key in PEM data, which may start with a
// byte-order mark (as Notepad saves); EC PARAMETERS blocks before it (as
// openssl ecparam -genkey writes) are skipped, and a second private key is
// refused, as the provider knows only one. A certificate of that key in
// the file, before or after it, comes with it as a *freshtoken.CertifiedKey:
// the provider (Microsoft Entra ID) knows the key by its certificate. Of
// several (one renewed for the same key), the one valid now that lasts the
// longest is taken.
func parseClientKey(data []byte) (crypto.Signer, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	var key crypto.Signer
	var certs []*x509.Certificate
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch {
		case block.Type == "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("holds a CERTIFICATE block that cannot be read (%v)", err)
			}
			certs = append(certs, c)
		case key == nil && block.Type != "EC PARAMETERS":
			k, err := parseKeyBlock(block)
			if err != nil {
				return nil, err
			}
			key = k
		case strings.HasSuffix(block.Type, "PRIVATE KEY"):
			return nil, errors.New("holds more than one private key; keep in it only the client's, the one registered with the provider")
		}
	}
	switch {
	case key == nil && len(certs) > 0:
		return nil, errors.New("holds a certificate, not a private key; key_file names the private key (its certificate may stand beside it in the file)")
	case key == nil && binaryDER(data): // PKCS #12 as Azure exports, or a DER key
		return nil, errors.New("holds binary DER, not PEM: convert a .pfx or .p12 file with `openssl pkcs12 -in FILE -nodes -out key.pem`, a DER key with `openssl pkey -inform DER -in FILE -out key.pem`, and name the PEM file in key_file")
	case key == nil && binaryDER(unbase64(data)):
		return nil, errors.New("holds base64 of binary DER, not PEM (a .pfx as Azure Key Vault gives it): decode it with `base64 -d FILE > app.pfx`, then convert it with `openssl pkcs12 -in app.pfx -nodes -out key.pem`, and name the PEM file in key_file")
	case key == nil:
		return nil, errors.New("holds no PEM private key; it should start with -----BEGIN PRIVATE KEY----- (or RSA PRIVATE KEY, EC PRIVATE KEY)")
	case len(certs) == 0:
		return key, nil
	}
	var own *x509.Certificate
	now := time.Now()
	for _, c := range certs {
		k, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !k.Equal(c.PublicKey) {
			continue
		}
		if own == nil || valid(c, now) && (!valid(own, now) || c.NotAfter.After(own.NotAfter)) {
			own = c
		}
	}
	if own == nil {
		return nil, errors.New("holds a certificate of another key than its private key; keep beside the key only its own certificate, the one registered with the provider")
	}
	return &freshtoken.CertifiedKey{Signer: key, Certificate: own}, nil
}

// valid reports whether c is valid at t.
func valid(c *x509.Certificate, t time.Time) bool {
	return !t.Before(c.NotBefore) && !t.After(c.NotAfter)
}

// unbase64 is text decoded as base64 (line breaks and spaces between),
// or nil when it is not.
func unbase64(text []byte) []byte {
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(text)), ""))
	if err != nil {
		return nil
	}
	return b
}

// binaryDER reports whether data looks like DER: an ASN.1 SEQUENCE, with
// the bytes of lengths and tags no text has soon after.
func binaryDER(data []byte) bool {
	return len(data) > 1 && data[0] == 0x30 && bytes.ContainsFunc(data[1:min(len(data), 16)], func(r rune) bool {
		return r < '\t' || r == utf8.RuneError
	})
}

// parseKeyBlock reads a PEM block that should be the client's private key.
func parseKeyBlock(block *pem.Block) (crypto.Signer, error) {
	if block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, errors.New("is encrypted with a passphrase, which freshtoken cannot ask for; keep it unencrypted, guarded by its file mode (`openssl pkey -in KEY -out key_file`)")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "OPENSSH PRIVATE KEY":
		return nil, errOpenSSHKey
	case "PUBLIC KEY", "RSA PUBLIC KEY":
		return nil, fmt.Errorf("holds a %s, not a private key; key_file names the private key, whose public half is registered with the provider", strings.ToLower(block.Type))
	default:
		return nil, fmt.Errorf("holds a %q block, not a private key; %s", block.Type, unsupported)
	}
	if err != nil {
		return nil, fmt.Errorf("holds a %s block that cannot be read (%v)", block.Type, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("holds an RSA key of %d bits, too short to trust; %s", k.N.BitLen(), unsupported)
		}
		return k, nil
	case *ecdsa.PrivateKey:
		if name := k.Curve.Params().Name; name != "P-256" && name != "P-384" {
			return nil, fmt.Errorf("holds an EC key on %s; %s", name, unsupported)
		}
		return k, nil
	case ed25519.PrivateKey:
		return nil, fmt.Errorf("holds an Ed25519 key, which few providers take for client assertions; %s", unsupported)
	default:
		return nil, fmt.Errorf("holds a %T, which cannot sign client assertions here; %s", key, unsupported)
	}
}
