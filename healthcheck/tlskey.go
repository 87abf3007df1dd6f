package healthcheck

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"os"
	"strings"
)

// loadKeyPair is tls.LoadX509KeyPair with the SSL block's password, which
// decrypts an encrypted PEM private key as OpenSSL does for keepalived
// (SSL_CTX_set_default_passwd_cb). Two encrypted formats are read:
//   - PKCS#8 "ENCRYPTED PRIVATE KEY" with PBES2: PBKDF2 (HMAC-SHA1, -SHA224,
//     -SHA256, -SHA384, -SHA512) and AES-128/192/256-CBC or DES-EDE3-CBC, what
//     `openssl genpkey -aes256`, `openssl pkcs8 -topk8 -v2 ...` and OpenSSL 3's
//     `openssl rsa/ec -aes256` write;
//   - the legacy "Proc-Type: 4,ENCRYPTED" PEM (DEK-Info with DES, 3DES or
//     AES-CBC), what OpenSSL 1.x's `openssl rsa -aes256` writes.
//
// OpenSSL also reads PKCS#8 with PBES1 (MD5/SHA1 with DES or RC2), PKCS#12
// PBE and scrypt; those are refused with an error naming the scheme.
func loadKeyPair(certFile, keyFile, password string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	rest := keyPEM
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break // no key block: X509KeyPair says so
		}
		if !strings.HasSuffix(b.Type, "PRIVATE KEY") {
			continue
		}
		key, err := decryptKey(b, password)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("key %s: %w", keyFile, err)
		}
		keyPEM = pem.EncodeToMemory(key)
		break
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// decryptKey returns b decrypted with password, or b when it is not
// encrypted.
func decryptKey(b *pem.Block, password string) (*pem.Block, error) {
	encrypted := b.Type == "ENCRYPTED PRIVATE KEY" || x509.IsEncryptedPEMBlock(b) //nolint:staticcheck // legacy PEM encryption is what OpenSSL 1.x writes
	switch {
	case !encrypted:
		return b, nil
	case password == "":
		return nil, errors.New("the private key is encrypted: set password in the SSL block")
	case b.Type == "ENCRYPTED PRIVATE KEY":
		der, err := decryptPKCS8(b.Bytes, []byte(password))
		if err != nil {
			return nil, err
		}
		return &pem.Block{Type: "PRIVATE KEY", Bytes: der}, nil
	}
	der, err := x509.DecryptPEMBlock(b, []byte(password)) //nolint:staticcheck // see above
	if err != nil {
		return nil, fmt.Errorf("decrypting the private key: %w", err)
	}
	return &pem.Block{Type: b.Type, Bytes: der}, nil
}

var (
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA224 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
)

type encryptedPrivateKeyInfo struct {
	Algo pkix.AlgorithmIdentifier
	Data []byte
}

type pbes2Params struct {
	KDF pkix.AlgorithmIdentifier
	Enc pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt      []byte
	Iter      int
	KeyLength int                      `asn1:"optional"`
	PRF       pkix.AlgorithmIdentifier `asn1:"optional"`
}

// decryptPKCS8 decrypts a PKCS#8 EncryptedPrivateKeyInfo (RFC 5958, PBES2 of
// RFC 8018) and returns the PrivateKeyInfo DER.
func decryptPKCS8(der, password []byte) ([]byte, error) {
	var info encryptedPrivateKeyInfo
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		return nil, fmt.Errorf("encrypted PKCS#8: %w", err)
	}
	if !info.Algo.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("encrypted PKCS#8 scheme %v is not supported (PBES2 is)", info.Algo.Algorithm)
	}
	var p pbes2Params
	if _, err := asn1.Unmarshal(info.Algo.Parameters.FullBytes, &p); err != nil {
		return nil, fmt.Errorf("PBES2 parameters: %w", err)
	}
	if !p.KDF.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("PBES2 key derivation %v is not supported (PBKDF2 is)", p.KDF.Algorithm)
	}
	var kdf pbkdf2Params
	if _, err := asn1.Unmarshal(p.KDF.Parameters.FullBytes, &kdf); err != nil {
		return nil, fmt.Errorf("PBKDF2 parameters: %w", err)
	}
	var prf func() hash.Hash
	switch a := kdf.PRF.Algorithm; {
	case len(a) == 0 || a.Equal(oidHMACSHA1):
		prf = sha1.New
	case a.Equal(oidHMACSHA224):
		prf = sha256.New224
	case a.Equal(oidHMACSHA256):
		prf = sha256.New
	case a.Equal(oidHMACSHA384):
		prf = sha512.New384
	case a.Equal(oidHMACSHA512):
		prf = sha512.New
	default:
		return nil, fmt.Errorf("PBKDF2 PRF %v is not supported", a)
	}
	var keyLen int
	var newCipher func([]byte) (cipher.Block, error)
	switch a := p.Enc.Algorithm; {
	case a.Equal(oidAES128CBC):
		keyLen, newCipher = 16, aes.NewCipher
	case a.Equal(oidAES192CBC):
		keyLen, newCipher = 24, aes.NewCipher
	case a.Equal(oidAES256CBC):
		keyLen, newCipher = 32, aes.NewCipher
	case a.Equal(oidDESEDE3CBC):
		keyLen, newCipher = 24, des.NewTripleDESCipher
	default:
		return nil, fmt.Errorf("PBES2 cipher %v is not supported (AES-CBC and DES-EDE3-CBC are)", a)
	}
	var iv []byte
	if _, err := asn1.Unmarshal(p.Enc.Parameters.FullBytes, &iv); err != nil {
		return nil, fmt.Errorf("PBES2 cipher IV: %w", err)
	}
	key, err := pbkdf2.Key(prf, string(password), kdf.Salt, kdf.Iter, keyLen)
	if err != nil {
		return nil, fmt.Errorf("PBKDF2: %w", err)
	}
	block, err := newCipher(key)
	if err != nil {
		return nil, err
	}
	if len(iv) != block.BlockSize() || len(info.Data) == 0 || len(info.Data)%block.BlockSize() != 0 {
		return nil, errors.New("encrypted PKCS#8: bad IV or data length")
	}
	out := make([]byte, len(info.Data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, info.Data)
	// PKCS#7 padding; a wrong password almost always breaks it, and the
	// result must be a PrivateKeyInfo.
	n := int(out[len(out)-1])
	if n == 0 || n > block.BlockSize() {
		return nil, errors.New("decrypting the private key failed (wrong password?)")
	}
	for _, c := range out[len(out)-n:] {
		if int(c) != n {
			return nil, errors.New("decrypting the private key failed (wrong password?)")
		}
	}
	out = out[:len(out)-n]
	if _, err := x509.ParsePKCS8PrivateKey(out); err != nil {
		return nil, fmt.Errorf("decrypting the private key failed (wrong password?): %w", err)
	}
	return out, nil
}
