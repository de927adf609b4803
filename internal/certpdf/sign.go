package certpdf

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/digitorus/pdf"
	"github.com/digitorus/pdfsign/sign"
)

// Signer signs certificates with the registry's document-signing key: a
// PDF signature (PAdES, CMS detached) that certifies the whole document and
// allows no later change.
type Signer struct {
	key   crypto.Signer
	chain []*x509.Certificate
}

// LoadSigner reads a PEM private key (PKCS #8, SEC 1 or PKCS #1) and a PEM
// certificate, followed by the chain that issued it if any.
func LoadSigner(keyFile, certFile string) (*Signer, error) {
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("certificates.signing_key: %w", err)
	}
	cb, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("certificates.signing_cert: %w", err)
	}
	return ParseSigner(kb, cb)
}

// ParseSigner is LoadSigner on the files' contents.
func ParseSigner(keyPEM, certPEM []byte) (*Signer, error) {
	kblock, _ := pem.Decode(keyPEM)
	if kblock == nil {
		return nil, errors.New("certificates.signing_key: no PEM block")
	}
	var key any
	var err error
	switch kblock.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(kblock.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(kblock.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(kblock.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("certificates.signing_key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, errors.New("certificates.signing_key: not a key that signs")
	}
	var chain []*x509.Certificate
	for rest := certPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificates.signing_cert: %w", err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, errors.New("certificates.signing_cert: no certificate")
	}
	if !publicKeysEqual(signer.Public(), chain[0].PublicKey) {
		return nil, errors.New("certificates.signing_cert does not certify certificates.signing_key")
	}
	return &Signer{key: signer, chain: chain}, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// Certificate is the signing certificate.
func (s *Signer) Certificate() *x509.Certificate { return s.chain[0] }

// Sign returns doc with a certification signature made at at, named for the
// signing certificate.
func (s *Signer) Sign(doc []byte, at time.Time) ([]byte, error) {
	rdr, err := pdf.NewReader(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		return nil, fmt.Errorf("reading the certificate to sign: %w", err)
	}
	var out bytes.Buffer
	err = sign.Sign(bytes.NewReader(doc), &out, rdr, int64(len(doc)), sign.SignData{
		Signature: sign.SignDataSignature{
			Info: sign.SignDataSignatureInfo{
				Name:   asciiName(s.chain[0].Subject.CommonName),
				Reason: "Certified by the registry",
				Date:   at,
			},
			CertType:   sign.CertificationSignature,
			DocMDPPerm: sign.DoNotAllowAnyChangesPerms,
		},
		Signer:            s.key,
		DigestAlgorithm:   crypto.SHA256,
		Certificate:       s.chain[0],
		CertificateChains: [][]*x509.Certificate{s.chain},
	})
	if err != nil {
		return nil, fmt.Errorf("signing the certificate: %w", err)
	}
	return out.Bytes(), nil
}

// oidDocumentSigning is id-kp-documentSigning (RFC 9336).
var oidDocumentSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}

// SelfSigned makes a P-256 key and a self-signed document-signing
// certificate for it, valid for ten years from now, as PEM: enough for a
// trial. A register in service uses a certificate from a CA its readers
// trust.
func SelfSigned(name string, now time.Time) (keyPEM, certPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		UnknownExtKeyUsage:    []asn1.ObjectIdentifier{oidDocumentSigning},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// asciiName is the signer's name as the signature dictionary carries it:
// pdfsign writes the name as a literal string without escaping, which text
// outside ASCII (UTF-16 with its parentheses) would break, so only ASCII
// letters, digits and spaces are kept; the certificate names the signer in
// full.
func asciiName(cn string) string {
	var b strings.Builder
	for _, r := range cn {
		if r < 0x80 && (r == ' ' || r == '-' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "registry"
	}
	return b.String()
}
