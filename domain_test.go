package safetybot_test

import (
	"encoding/csv"
	"os"
	"strings"
	"testing"

	"safetybot"
)

func TestCheckCreditCode(t *testing.T) {
	f, err := os.Open("testdata/fixtures/enterprises.csv")
	if err != nil {
		t.Fatalf("fixtures: %v", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows[1:] {
		if err := safetybot.CheckCreditCode(r[0]); err != nil {
			t.Errorf("fixture code %s rejected: %v", r[0], err)
		}
	}
	good := rows[1][0]
	bad := good[:17] + string(nextChar(good[17]))
	for _, tc := range []struct {
		code, want string
	}{
		{bad, "校验位错误"},
		{good[:17], "应为18位"},
		{strings.Replace(good, good[3:4], "I", 1), "字符不合法"},
		{strings.ToLower(good), "字符不合法"},
	} {
		err := safetybot.CheckCreditCode(tc.code)
		if safetybot.ErrorCode(err) != safetybot.EINVALID || !strings.Contains(safetybot.ErrorMessage(err), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.code, err, tc.want)
		}
	}
	prefix := "91320581MA1XY1001"
	if err := safetybot.CheckCreditCode(prefix + string(safetybot.CreditCodeCheckChar(prefix))); err != nil {
		t.Errorf("built code rejected: %v", err)
	}
}

func nextChar(c byte) byte {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	i := strings.IndexByte(alphabet, c)
	return alphabet[(i+1)%len(alphabet)]
}

func TestValidateMessagesAreUserSafe(t *testing.T) {
	cases := []error{
		(&safetybot.Person{UserID: "bad id", Name: "x", Role: safetybot.RolePrincipal}).Validate(),
		(&safetybot.Person{UserID: "ok", Name: "", Role: safetybot.RolePrincipal}).Validate(),
		(&safetybot.Person{UserID: "ok", Name: "x", Role: safetybot.RoleTownship}).Validate(),
		(&safetybot.Enterprise{CreditCode: "91320581MA1XY1001" + string(safetybot.CreditCodeCheckChar("91320581MA1XY1001")), Name: "甲", Township: "镇", Category: "别的"}).Validate(),
		(&safetybot.Letter{Title: "", Body: "x"}).Validate(),
	}
	for i, err := range cases {
		if safetybot.ErrorCode(err) != safetybot.EINVALID || safetybot.ErrorMessage(err) == "" {
			t.Errorf("case %d: %v", i, err)
		}
	}
	if msg := safetybot.ErrorMessage(&safetybot.Error{Code: safetybot.EINTERNAL, Message: "secret detail"}); msg != "" {
		t.Errorf("internal message leaked: %q", msg)
	}
}
