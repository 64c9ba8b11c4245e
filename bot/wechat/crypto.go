package wechat

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
)

// sign is WeChat's signature: the SHA-1, in lower-case hex, of its
// parts sorted and concatenated. It serves both the URL check
// (token, timestamp, nonce) and safe mode (plus the Encrypt payload).
func sign(parts ...string) string {
	slices.Sort(parts)
	h := sha1.New()
	for _, p := range parts {
		h.Write([]byte(p))
	}
	var sum [sha1.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// signatureOK compares a received signature with the expected one in
// constant time. WeChat sends lower-case hex.
func signatureOK(got string, parts ...string) bool {
	want := sign(parts...)
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// cryptor is safe mode's AES-256-CBC: key = base64(EncodingAESKey + "="),
// IV = key[:16], PKCS#7 padding to 32-byte blocks, plaintext = 16 random
// bytes + 4-byte big-endian length + message + AppID.
type cryptor struct {
	appID string
	block cipher.Block
	iv    []byte
}

const padBlock = 32

func newCryptor(appID, encodingAESKey string) (*cryptor, error) {
	if len(encodingAESKey) != 43 {
		return nil, errors.New("wechat: EncodingAESKey must be 43 characters")
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, errors.New("wechat: EncodingAESKey is not valid base64 for a 32-byte key")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("wechat: %w", err)
	}
	return &cryptor{appID: appID, block: block, iv: key[:16]}, nil
}

// errDecrypt hides why decryption failed: the reasons help an attacker
// more than an operator.
var errDecrypt = errors.New("wechat: message does not decrypt with this account's key")

// decrypt returns the message inside a base64 Encrypt payload, checking
// that it was meant for this AppID.
func (c *cryptor) decrypt(encrypted string) ([]byte, error) {
	ct, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil || len(ct) < padBlock || len(ct)%aes.BlockSize != 0 {
		return nil, errDecrypt
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(c.block, c.iv).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > padBlock || pad > len(pt) {
		return nil, errDecrypt
	}
	pt = pt[:len(pt)-pad]
	if len(pt) < 20 {
		return nil, errDecrypt
	}
	n := binary.BigEndian.Uint32(pt[16:20])
	if uint64(n) > uint64(len(pt)-20) {
		return nil, errDecrypt
	}
	msg, appID := pt[20:20+n], pt[20+n:]
	if subtle.ConstantTimeCompare(appID, []byte(c.appID)) != 1 {
		return nil, errDecrypt
	}
	return msg, nil
}

// encrypt wraps msg for a safe-mode reply, as a base64 Encrypt payload.
func (c *cryptor) encrypt(msg []byte) (string, error) {
	n := 20 + len(msg) + len(c.appID)
	pad := padBlock - n%padBlock
	pt := make([]byte, n+pad)
	if _, err := rand.Read(pt[:16]); err != nil {
		return "", fmt.Errorf("wechat: random: %w", err)
	}
	binary.BigEndian.PutUint32(pt[16:20], uint32(len(msg)))
	copy(pt[20:], msg)
	copy(pt[20+len(msg):], c.appID)
	for i := n; i < len(pt); i++ {
		pt[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(c.block, c.iv).CryptBlocks(pt, pt)
	return base64.StdEncoding.EncodeToString(pt), nil
}
