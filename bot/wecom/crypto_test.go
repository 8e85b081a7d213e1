package wecom_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/silenceper/wechat/v2/util"

	"safetybot/bot/wecom"
)

// vector is one entry of testdata/wecom/vectors.json (a copy of the shared known-answer vectors).
type vector struct {
	ID                string  `json:"id"`
	Kind              string  `json:"kind"`
	Token             *string `json:"token"`
	ReceiveID         string  `json:"receive_id"`
	EncodingAESKey    string  `json:"encoding_aes_key"`
	Timestamp         string  `json:"timestamp"`
	Nonce             string  `json:"nonce"`
	MsgSignature      string  `json:"msg_signature"`
	PostBody          string  `json:"post_body"`
	Encrypt           string  `json:"encrypt"`
	ExpectedPlaintext string  `json:"expected_plaintext"`
	RandomPrefix      string  `json:"random_prefix"`
	PKCS7PadLen       int     `json:"pkcs7_pad_len"`
}

const vectorsPath = "../../testdata/wecom/vectors.json"

func loadVectors(t testing.TB) []vector {
	t.Helper()
	data, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	var f struct {
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("parse vectors: %v", err)
	}
	if len(f.Vectors) != 4 {
		t.Fatalf("want 4 vectors, got %d", len(f.Vectors))
	}
	return f.Vectors
}

func (v vector) token() string {
	if v.Token == nil {
		return ""
	}
	return *v.Token
}

func mustCrypto(t testing.TB, token, key, corpID string) *wecom.Crypto {
	t.Helper()
	c, err := wecom.NewCrypto(token, key, corpID)
	if err != nil {
		t.Fatalf("NewCrypto: %v", err)
	}
	return c
}

func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.ID, func(t *testing.T) {
			c := mustCrypto(t, v.token(), v.EncodingAESKey, v.ReceiveID)

			if v.Token != nil {
				if got := wecom.Sign(v.token(), v.Timestamp, v.Nonce, v.Encrypt); got != v.MsgSignature {
					t.Errorf("Sign = %s, want %s", got, v.MsgSignature)
				}
				if !c.Verify(v.MsgSignature, v.Timestamp, v.Nonce, v.Encrypt) {
					t.Error("Verify rejected the vector's signature")
				}
			}

			got, err := c.Decrypt(v.Encrypt)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if string(got) != v.ExpectedPlaintext {
				t.Errorf("Decrypt = %q, want %q", got, v.ExpectedPlaintext)
			}
			raw, _ := base64.StdEncoding.DecodeString(v.Encrypt)
			if pad := len(raw) - 20 - len(v.ExpectedPlaintext) - len(v.ReceiveID); pad != v.PKCS7PadLen {
				t.Errorf("pad length %d, vector says %d", pad, v.PKCS7PadLen)
			}

			if len(v.RandomPrefix) != 16 {
				t.Fatalf("random_prefix %q is not 16 bytes", v.RandomPrefix)
			}
			enc, err := c.Encrypt([]byte(v.RandomPrefix), []byte(v.ExpectedPlaintext))
			if err != nil {
				t.Fatalf("Encrypt: %v", err)
			}
			if enc != v.Encrypt {
				t.Errorf("Encrypt = %s\nwant      %s", enc, v.Encrypt)
			}

			if v.PostBody != "" {
				env, err := wecom.ParseEnvelope([]byte(v.PostBody))
				if err != nil {
					t.Fatalf("ParseEnvelope: %v", err)
				}
				if env.Encrypt != v.Encrypt || env.ToUserName != v.ReceiveID || env.AgentID != "218" {
					t.Errorf("envelope = %+v", env)
				}
				plain, err := c.Open(v.MsgSignature, v.Timestamp, v.Nonce, env.Encrypt)
				if err != nil || string(plain) != v.ExpectedPlaintext {
					t.Errorf("Open = %q, %v", plain, err)
				}
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	v := loadVectors(t)[1]
	c := mustCrypto(t, v.token(), v.EncodingAESKey, v.ReceiveID)
	cases := map[string][4]string{
		"flipped signature char": {strings.Replace(v.MsgSignature, "4", "5", 1), v.Timestamp, v.Nonce, v.Encrypt},
		"upper-case signature":   {strings.ToUpper(v.MsgSignature), v.Timestamp, v.Nonce, v.Encrypt},
		"empty signature":        {"", v.Timestamp, v.Nonce, v.Encrypt},
		"truncated signature":    {v.MsgSignature[:39], v.Timestamp, v.Nonce, v.Encrypt},
		"other timestamp":        {v.MsgSignature, "1409659814", v.Nonce, v.Encrypt},
		"other nonce":            {v.MsgSignature, v.Timestamp, "1372623148", v.Encrypt},
		"other encrypt":          {v.MsgSignature, v.Timestamp, v.Nonce, "A" + v.Encrypt[1:]},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if c.Verify(in[0], in[1], in[2], in[3]) {
				t.Fatal("Verify accepted")
			}
			if _, err := c.Open(in[0], in[1], in[2], in[3]); !errors.Is(err, wecom.ErrSignature) {
				t.Fatalf("Open err = %v, want ErrSignature", err)
			}
		})
	}
	t.Run("other token", func(t *testing.T) {
		other := mustCrypto(t, "QDG6eL", v.EncodingAESKey, v.ReceiveID)
		if other.Verify(v.MsgSignature, v.Timestamp, v.Nonce, v.Encrypt) {
			t.Fatal("Verify accepted a signature made with another token")
		}
	})
}

func TestDecryptWrongReceiveID(t *testing.T) {
	for _, v := range loadVectors(t) {
		c := mustCrypto(t, v.token(), v.EncodingAESKey, "ww-not-our-corp")
		if _, err := c.Decrypt(v.Encrypt); !errors.Is(err, wecom.ErrReceiveID) {
			t.Errorf("%s: err = %v, want ErrReceiveID", v.ID, err)
		}
	}
}

func TestDecryptMalformed(t *testing.T) {
	v := loadVectors(t)[1]
	c := mustCrypto(t, v.token(), v.EncodingAESKey, v.ReceiveID)
	raw, _ := base64.StdEncoding.DecodeString(v.Encrypt)
	b64 := base64.StdEncoding.EncodeToString
	tamper := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 0x01
		return b64(b)
	}
	cases := map[string]string{
		"empty":                     "",
		"not base64":                "!!!not-base64!!!",
		"bad base64 padding":        v.Encrypt[:len(v.Encrypt)-1],
		"one block only":            b64(raw[:16]),
		"not a block multiple":      b64(raw[:len(raw)-3]),
		"truncated to 32":           b64(raw[:32]),
		"length field tampered":     tamper(0), // flips msg_len's top byte in block 1
		"last block tampered":       tamper(len(raw) - 1),
		"second last block altered": tamper(len(raw) - 17),
	}
	for name, enc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := c.Decrypt(enc)
			if !errors.Is(err, wecom.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

// TestDecryptMatchesUtil pins the cached-cipher decoder and the encoder to
// silenceper's util on random messages of every padding length.
func TestDecryptMatchesUtil(t *testing.T) {
	v := loadVectors(t)[0]
	c := mustCrypto(t, v.token(), v.EncodingAESKey, v.ReceiveID)
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(rng.UintN(256))
		}
		random := make([]byte, 16)
		for i := range random {
			random[i] = byte(rng.UintN(256))
		}
		enc, err := c.Encrypt(random, msg)
		if err != nil {
			t.Fatal(err)
		}
		want, err := util.EncryptMsg(random, msg, v.ReceiveID, v.EncodingAESKey)
		if err != nil || string(want) != enc {
			t.Fatalf("len %d: Encrypt differs from util.EncryptMsg (%v)", n, err)
		}
		_, utilPlain, err := util.DecryptMsg(v.ReceiveID, enc, v.EncodingAESKey)
		if err != nil {
			t.Fatalf("len %d: util.DecryptMsg: %v", n, err)
		}
		got, err := c.Decrypt(enc)
		if err != nil {
			t.Fatalf("len %d: Decrypt: %v", n, err)
		}
		if !bytes.Equal(got, msg) || !bytes.Equal(got, utilPlain) {
			t.Fatalf("len %d: round trip differs", n)
		}
	}
}

func TestDecryptEmptyReceiveID(t *testing.T) {
	v := loadVectors(t)[0]
	c := mustCrypto(t, "", v.EncodingAESKey, "")
	enc, err := c.Encrypt(nil, []byte("ai-bot"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Decrypt(enc)
	if err != nil || string(got) != "ai-bot" {
		t.Fatalf("Decrypt = %q, %v", got, err)
	}
}

func TestSignMatchesUtil(t *testing.T) {
	v := loadVectors(t)[0]
	c := mustCrypto(t, "tok", v.EncodingAESKey, v.ReceiveID)
	// Orders that exercise every branch of the four-string sort.
	for _, p := range [][3]string{{"1", "2", "3"}, {"z", "a", "m"}, {"tok", "tok", "tok"}, {"", "b", "a"}, {"toka", "to", "tok"}} {
		sig := util.Signature("tok", p[0], p[1], p[2])
		if wecom.Sign("tok", p[0], p[1], p[2]) != sig || !c.Verify(sig, p[0], p[1], p[2]) {
			t.Errorf("%v: signature mismatch", p)
		}
	}
}

func TestNewCryptoRejectsBadKeys(t *testing.T) {
	good := loadVectors(t)[0].EncodingAESKey
	for name, key := range map[string]string{
		"empty":       "",
		"42 chars":    good[:42],
		"44 chars":    good + "A",
		"not base64":  good[:40] + "!!!",
		"padded form": good[:42] + "=",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := wecom.NewCrypto("secret-token", key, "ww1")
			if err == nil {
				t.Fatal("accepted")
			}
			if key != "" && strings.Contains(err.Error(), key) || strings.Contains(err.Error(), "secret-token") {
				t.Fatalf("error leaks a secret: %v", err)
			}
		})
	}
}

func TestEncryptRandomPrefixLength(t *testing.T) {
	v := loadVectors(t)[0]
	c := mustCrypto(t, v.token(), v.EncodingAESKey, v.ReceiveID)
	if _, err := c.Encrypt(make([]byte, 15), []byte("x")); err == nil {
		t.Fatal("accepted a 15-byte prefix")
	}
	a, _ := c.Encrypt(nil, []byte("x"))
	b, _ := c.Encrypt(nil, []byte("x"))
	if a == b {
		t.Fatal("nil prefix should draw fresh randomness")
	}
}

func TestEncryptedReply(t *testing.T) {
	v := loadVectors(t)[1]
	c := mustCrypto(t, v.token(), v.EncodingAESKey, v.ReceiveID)
	plain := []byte(`<xml><ToUserName><![CDATA[mycreate]]></ToUserName><FromUserName><![CDATA[wx5823bf96d3bd56c7]]></FromUserName><CreateTime>1409659813</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[收到]]></Content></xml>`)
	out, err := c.EncryptedReply(plain, "1409659900", "n]]>once", []byte(v.RandomPrefix))
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"<xml>", "<Encrypt><![CDATA[", "<MsgSignature><![CDATA[", "<TimeStamp>1409659900</TimeStamp>", "<Nonce>"} {
		if !bytes.Contains(out, []byte(tag)) {
			t.Errorf("reply lacks %s: %s", tag, out)
		}
	}
	var env struct {
		Encrypt      string `xml:"Encrypt"`
		MsgSignature string `xml:"MsgSignature"`
		TimeStamp    string `xml:"TimeStamp"`
		Nonce        string `xml:"Nonce"`
	}
	if err := xml.Unmarshal(out, &env); err != nil {
		t.Fatal(err)
	}
	if env.Nonce != "n]]>once" || env.TimeStamp != "1409659900" {
		t.Errorf("envelope = %+v", env)
	}
	if !c.Verify(env.MsgSignature, env.TimeStamp, env.Nonce, env.Encrypt) {
		t.Error("reply signature does not verify")
	}
	got, err := c.Decrypt(env.Encrypt)
	if err != nil || !bytes.Equal(got, plain) {
		t.Errorf("reply decrypts to %q, %v", got, err)
	}
	again, _ := c.EncryptedReply(plain, "1409659900", "n]]>once", []byte(v.RandomPrefix))
	if !bytes.Equal(out, again) {
		t.Error("reply is not deterministic for a fixed prefix")
	}
}

func BenchmarkVerifyDecrypt(b *testing.B) {
	v := loadVectors(b)[1]
	c := mustCrypto(b, v.token(), v.EncodingAESKey, v.ReceiveID)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Open(v.MsgSignature, v.Timestamp, v.Nonce, v.Encrypt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyDecryptParallel is the throughput on all cores (the intake
// goal is stated per machine).
func BenchmarkVerifyDecryptParallel(b *testing.B) {
	v := loadVectors(b)[1]
	c := mustCrypto(b, v.token(), v.EncodingAESKey, v.ReceiveID)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Open(v.MsgSignature, v.Timestamp, v.Nonce, v.Encrypt); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerifyDecryptUtil is the same work done with silenceper's helpers
// alone, for comparison.
func BenchmarkVerifyDecryptUtil(b *testing.B) {
	v := loadVectors(b)[1]
	b.ReportAllocs()
	for b.Loop() {
		if util.Signature(v.token(), v.Timestamp, v.Nonce, v.Encrypt) != v.MsgSignature {
			b.Fatal("signature")
		}
		if _, _, err := util.DecryptMsg(v.ReceiveID, v.Encrypt, v.EncodingAESKey); err != nil {
			b.Fatal(err)
		}
	}
}
