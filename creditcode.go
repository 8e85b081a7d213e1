package safetybot

import "strings"

// creditCodeChars is the GB 32100-2015 alphabet: digits and upper-case letters
// without I, O, Z, S, V.
const creditCodeChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var creditCodeWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// CheckCreditCode validates an 18-character unified social credit code, including
// its GB 32100-2015 check character. The error carries a Chinese message naming the fault.
func CheckCreditCode(code string) error {
	if len(code) != 18 {
		return Errorf(EINVALID, "统一社会信用代码应为18位（现为%d位）", len([]rune(code)))
	}
	sum := 0
	for i := 0; i < 18; i++ {
		v := strings.IndexByte(creditCodeChars, code[i])
		if v < 0 {
			return Errorf(EINVALID, "统一社会信用代码第%d位字符不合法", i+1)
		}
		if i < 17 {
			sum += v * creditCodeWeights[i]
		}
	}
	want := (31 - sum%31) % 31
	if code[17] != creditCodeChars[want] {
		return Errorf(EINVALID, "统一社会信用代码校验位错误")
	}
	return nil
}

// CreditCodeCheckChar returns the check character for the first 17 characters of a
// code. It is used by tests and the demo roster to build valid codes.
func CreditCodeCheckChar(first17 string) byte {
	sum := 0
	for i := 0; i < 17 && i < len(first17); i++ {
		sum += strings.IndexByte(creditCodeChars, first17[i]) * creditCodeWeights[i]
	}
	return creditCodeChars[(31-sum%31)%31]
}
