package wecom_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"safetybot/bot/wecom"
)

// addInboundSeeds adds every testdata/inbound sample to the fuzz corpus, on top
// of the committed files under testdata/fuzz/<target>/.
func addInboundSeeds(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "inbound", "*.xml"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no inbound samples: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzParseMessage(f *testing.F) {
	addInboundSeeds(f)
	f.Add([]byte(`<xml><FromUserName>a</FromUserName><MsgType>location</MsgType><Location_X>1e308</Location_X><Scale>-1</Scale></xml>`))
	f.Add([]byte(`<xml><FromUserName>a</FromUserName><MsgType>event</MsgType><Event>template_card_event</Event><SelectedItems><SelectedItem><OpitonIds><OpitonId/></OpitonIds></SelectedItem></SelectedItems></xml>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := wecom.ParseMessage(data)
		if err != nil {
			if !errors.Is(err, wecom.ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if in.From == "" || in.Kind == "" {
			t.Fatalf("accepted without From/Kind: %+v", in)
		}
		// The inbox stores Inbound as JSON: whatever parses must marshal.
		if _, err := json.Marshal(in); err != nil {
			t.Fatalf("parsed Inbound does not marshal: %v", err)
		}
		_ = in.DedupeKey()
	})
}

func FuzzParseEnvelope(f *testing.F) {
	for _, v := range loadVectors(f) {
		if v.PostBody != "" {
			f.Add([]byte(v.PostBody))
		}
	}
	f.Add([]byte(`<xml><Encrypt>abc</Encrypt></xml>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := wecom.ParseEnvelope(data)
		if err != nil {
			if !errors.Is(err, wecom.ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if env.Encrypt == "" {
			t.Fatal("accepted an envelope without Encrypt")
		}
	})
}

// FuzzDecrypt feeds arbitrary Encrypt values to the decoder: it sees
// attacker-controlled input when Decrypt is called before Verify.
func FuzzDecrypt(f *testing.F) {
	vs := loadVectors(f)
	for _, v := range vs {
		f.Add(v.Encrypt)
	}
	f.Add("")
	f.Add("AAAA")
	c := mustCrypto(f, vs[1].token(), vs[1].EncodingAESKey, vs[1].ReceiveID)
	f.Fuzz(func(t *testing.T, enc string) {
		msg, err := c.Decrypt(enc)
		if err != nil {
			if !errors.Is(err, wecom.ErrMalformed) && !errors.Is(err, wecom.ErrReceiveID) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		back, err := c.Decrypt(enc)
		if err != nil || string(back) != string(msg) {
			t.Fatal("Decrypt is not deterministic")
		}
	})
}
