// Package wecom is the WeCom (企业微信) wire protocol in one place: callback
// signatures and AES (the WXBizMsgCrypt scheme), the callback XML, and the API
// client with its token cache and error codes. Base URL and HTTP client are
// injected; tokens, secrets and keys never appear in errors or logs.
package wecom

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"

	"github.com/silenceper/wechat/v2/util"
)

// Sentinel errors of the callback crypto. Errors returned by this package wrap
// them, so test with errors.Is.
var (
	// ErrSignature means msg_signature does not match the request.
	ErrSignature = errors.New("wecom: signature mismatch")
	// ErrReceiveID means the decrypted receive id is not our CorpID.
	ErrReceiveID = errors.New("wecom: receive id mismatch")
	// ErrMalformed means a payload could not be decoded: bad base64, bad
	// padding or length, invalid XML or a missing required element.
	ErrMalformed = errors.New("wecom: malformed payload")
)

const (
	// padBlock is the PKCS#7 block WeCom pads to (32, not the AES block of 16).
	padBlock = 32
	// headerLen is random(16) ‖ msg_len(4).
	headerLen = 20
)

// Crypto verifies, decrypts and encrypts callback payloads for one app
// (token, EncodingAESKey, CorpID). It is safe for concurrent use.
type Crypto struct {
	token  string
	corpID string
	// aesKey is the EncodingAESKey as configured; util.EncryptMsg wants it.
	aesKey string
	key    []byte // 32-byte AES-256 key; key[:16] is the IV
	block  cipher.Block
}

// NewCrypto returns a Crypto for the app. encodingAESKey must be the 43-char
// base64 key that decodes to 32 bytes. corpID is the expected receive id; it
// may be empty only for products that send an empty one.
func NewCrypto(token, encodingAESKey, corpID string) (*Crypto, error) {
	if len(encodingAESKey) != 43 {
		return nil, fmt.Errorf("wecom: EncodingAESKey must be 43 characters, got %d", len(encodingAESKey))
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil {
		// The base64 error names a byte offset only, never the key itself.
		return nil, fmt.Errorf("wecom: EncodingAESKey is not valid base64: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("wecom: EncodingAESKey decodes to %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("wecom: EncodingAESKey: %w", err)
	}
	return &Crypto{token: token, corpID: corpID, aesKey: encodingAESKey, key: key, block: block}, nil
}

// Sign returns the WeCom msg_signature: the lower-case hex SHA-1 of the four
// strings sorted byte-wise and concatenated.
func Sign(token, timestamp, nonce, encrypt string) string {
	return util.Signature(token, timestamp, nonce, encrypt)
}

// Verify reports whether msgSignature is the signature of (token, timestamp,
// nonce, encrypt). The comparison runs in constant time.
func (c *Crypto) Verify(msgSignature, timestamp, nonce, encrypt string) bool {
	var sum [2 * sha1.Size]byte
	c.signInto(&sum, timestamp, nonce, encrypt)
	return subtle.ConstantTimeCompare(sum[:], []byte(msgSignature)) == 1
}

// signInto writes the hex signature into dst without the allocations of
// util.Signature (sort on a fresh slice, fmt); tests pin it to util.Signature.
func (c *Crypto) signInto(dst *[2 * sha1.Size]byte, timestamp, nonce, encrypt string) {
	p := [4]string{c.token, timestamp, nonce, encrypt}
	// Insertion sort of four strings: byte-wise, as sort.Strings does.
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j] < p[j-1]; j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
	// Concatenate on the stack for the usual sizes; sha1.New would escape.
	var stack [2048]byte
	buf := stack[:0]
	if n := len(p[0]) + len(p[1]) + len(p[2]) + len(p[3]); n > len(stack) {
		buf = make([]byte, 0, n)
	}
	for _, s := range p {
		buf = append(buf, s...)
	}
	sum := sha1.Sum(buf)
	hex.Encode(dst[:], sum[:])
}

// Open verifies the signature and decrypts encrypt in one step: ErrSignature
// when the signature does not match, otherwise as Decrypt.
func (c *Crypto) Open(msgSignature, timestamp, nonce, encrypt string) ([]byte, error) {
	if !c.Verify(msgSignature, timestamp, nonce, encrypt) {
		return nil, ErrSignature
	}
	return c.Decrypt(encrypt)
}

// Decrypt decodes and decrypts an Encrypt value (or echostr) and returns the
// inner message. A receive id other than the CorpID yields ErrReceiveID; bad
// base64, length or padding yields an error wrapping ErrMalformed.
//
// It matches util.DecryptMsg byte for byte (see the tests) but keeps the AES
// cipher from NewCrypto instead of re-deriving it, accepts an empty receive id,
// checks every padding byte and tells a wrong receive id apart from garbage.
func (c *Crypto) Decrypt(encrypt string) ([]byte, error) {
	buf := make([]byte, base64.StdEncoding.DecodedLen(len(encrypt)))
	n, err := base64.StdEncoding.Decode(buf, []byte(encrypt))
	if err != nil {
		return nil, fmt.Errorf("%w: base64: %v", ErrMalformed, err)
	}
	buf = buf[:n]
	if n < padBlock || n%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: ciphertext length %d", ErrMalformed, n)
	}
	cipher.NewCBCDecrypter(c.block, c.key[:aes.BlockSize]).CryptBlocks(buf, buf)

	pad := int(buf[n-1])
	if pad < 1 || pad > padBlock {
		return nil, fmt.Errorf("%w: padding", ErrMalformed)
	}
	for _, b := range buf[n-pad:] {
		if int(b) != pad {
			return nil, fmt.Errorf("%w: padding", ErrMalformed)
		}
	}
	plain := buf[:n-pad]
	if len(plain) < headerLen {
		return nil, fmt.Errorf("%w: plaintext too short", ErrMalformed)
	}
	msgLen := uint64(binary.BigEndian.Uint32(plain[16:headerLen]))
	if msgLen > uint64(len(plain)-headerLen) {
		return nil, fmt.Errorf("%w: message length %d exceeds payload", ErrMalformed, msgLen)
	}
	end := headerLen + int(msgLen)
	if string(plain[end:]) != c.corpID {
		return nil, ErrReceiveID
	}
	// Cap the slice so an append by the caller cannot scribble on the id.
	return plain[headerLen:end:end], nil
}

// Encrypt encrypts msg with the 16-byte random prefix random16 and the CorpID
// as receive id, and returns the base64 Encrypt value. The result is fully
// determined by random16 and msg; a nil random16 draws one from crypto/rand.
func (c *Crypto) Encrypt(random16, msg []byte) (string, error) {
	if random16 == nil {
		random16 = make([]byte, 16)
		if _, err := rand.Read(random16); err != nil {
			return "", fmt.Errorf("wecom: random prefix: %w", err)
		}
	}
	if len(random16) != 16 {
		return "", fmt.Errorf("wecom: random prefix must be 16 bytes, got %d", len(random16))
	}
	if uint64(len(msg)) > 1<<32-1 {
		return "", fmt.Errorf("wecom: message too long (%d bytes)", len(msg))
	}
	out, err := util.EncryptMsg(random16, msg, c.corpID, c.aesKey)
	if err != nil {
		// util only fails on a bad key, which NewCrypto already rejected;
		// its text never carries the key, but stay generic anyway.
		return "", errors.New("wecom: encrypt failed")
	}
	return string(out), nil
}

// replyEnvelope is the passive encrypted reply (tags as in Tencent's samples:
// TimeStamp with a capital S).
type replyEnvelope struct {
	XMLName      xml.Name `xml:"xml"`
	Encrypt      cdata    `xml:"Encrypt"`
	MsgSignature cdata    `xml:"MsgSignature"`
	TimeStamp    string   `xml:"TimeStamp"`
	Nonce        cdata    `xml:"Nonce"`
}

type cdata struct {
	Value string `xml:",cdata"`
}

// EncryptedReply encrypts the plaintext reply XML plain, signs it with
// timestamp and nonce, and returns the envelope to write as the HTTP body:
// <xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>. random16 is as in
// Encrypt.
func (c *Crypto) EncryptedReply(plain []byte, timestamp, nonce string, random16 []byte) ([]byte, error) {
	enc, err := c.Encrypt(random16, plain)
	if err != nil {
		return nil, err
	}
	var sig [2 * sha1.Size]byte
	c.signInto(&sig, timestamp, nonce, enc)
	out, err := xml.Marshal(replyEnvelope{
		Encrypt:      cdata{enc},
		MsgSignature: cdata{string(sig[:])},
		TimeStamp:    timestamp,
		Nonce:        cdata{nonce},
	})
	if err != nil {
		return nil, fmt.Errorf("wecom: reply envelope: %w", err)
	}
	return out, nil
}
