package roster_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"safetybot"
	"safetybot/roster"
)

// generated yields n bytes of fill ('a' when zero) without holding them in memory.
type generated struct {
	n    int64
	fill byte
}

func (g *generated) Read(p []byte) (int, error) {
	if g.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), g.n)
	fill := g.fill
	if fill == 0 {
		fill = 'a'
	}
	for i := range p[:k] {
		p[i] = fill
	}
	g.n -= k
	return int(k), nil
}

// sized says how big it is and must not be read.
type sized struct{ n int }

func (s sized) Len() int { return s.n }

func (s sized) Read([]byte) (int, error) {
	return 0, errors.New("read a file that is known to be too large")
}

func TestFileLevelErrors(t *testing.T) {
	header := strings.Join(enterpriseHeader, ",") + "\n"
	tests := []struct {
		name     string
		r        io.Reader
		filename string
		want     string // the whole message, or a prefix ending in "…"
	}{
		{"empty file", strings.NewReader(""), "e.csv", "文件是空的，没有表头也没有数据"},
		{"only a BOM and blank lines", strings.NewReader("\xEF\xBB\xBF\r\n\r\n"), "e.csv", "文件是空的，没有表头也没有数据"},
		{"only commas", strings.NewReader(",,,\n,,,\n"), "e.csv", "文件是空的，没有表头也没有数据"},
		{"header only", strings.NewReader(header), "e.csv", "文件只有表头，没有数据行"},
		{"header and blank rows", strings.NewReader(header + ",,,,\n\n"), "e.csv", "文件只有表头，没有数据行"},
		{"empty xlsx", bytes.NewReader(mustXLSX(t, nil, nil)), "e.xlsx", "文件是空的，没有表头也没有数据"},
		{"xlsx header only", bytes.NewReader(mustXLSX(t, [][]string{enterpriseHeader}, nil)), "e.xlsx", "文件只有表头，没有数据行"},
		{"missing column", strings.NewReader(strings.Replace(header, "credit_code,", "", 1) + "x\n"), "e.csv", "缺少必填列：统一社会信用代码"},
		{"missing columns", strings.NewReader("企业名称,所属镇街\n某店,青石镇\n"), "e.csv", "缺少必填列：统一社会信用代码、类别、主要负责人、负责人企业微信账号"},
		{"no header at all", strings.NewReader("1,2,3\n4,5,6\n"), "e.csv", "缺少必填列：统一社会信用代码、企业名称、所属镇街、类别、主要负责人、负责人企业微信账号"},
		{"repeated column", strings.NewReader("统一社会信用代码,企业名称,单位名称,所属镇街,类别,主要负责人,负责人企业微信账号\n"), "e.csv", "表头中这些列重复了：企业名称，请只保留一列"},
		{"too large, streamed", &generated{n: roster.MaxFileSize + 1}, "big.csv", "文件过大（超过 50 MB）…"},
		{"too large, size known", sized{n: roster.MaxFileSize + 1}, "big.csv", "文件过大（超过 50 MB）…"},
		{"old xls", strings.NewReader("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest"), "e.xls", "不支持旧版 Excel（.xls）…"},
		{"xlsx that is not", strings.NewReader(header), "e.xlsx", "文件扩展名是 .xlsx，但内容不是 Excel 文件…"},
		{"broken xlsx", strings.NewReader("PK\x03\x04 not really a zip"), "e.xlsx", "无法打开这个 Excel 文件…"},
		{"html saved as xls", strings.NewReader("<html><table><tr><td>统一社会信用代码</td></tr></table></html>"), "e.xls", "无法识别文件格式…"},
		{"binary", strings.NewReader("\x00\x01\x02abc"), "e.csv", "无法识别文件格式…"},
		{"unclosed quote", strings.NewReader(header + "\"" + strings.Repeat("x,", 12) + "\n"), "e.csv", "第 2 行的引号不成对…"},
		{"not text in any encoding", bytes.NewReader([]byte{'a', ',', 0x81, 0x20, 0xFF, '\n'}), "e.csv", "文件编码无法识别…"},
		{"UTF-8 BOM but not UTF-8", strings.NewReader("\ufeff" + header + "91,某店,青石镇,\xe4\n"), "e.csv", "文件标明是 UTF-8 编码，但其中有无法识别的字符…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := reader.ReadEnterprises(tt.r, tt.filename)
			if err == nil {
				t.Fatalf("no error; result %+v", res)
			}
			if res != nil {
				t.Errorf("result %+v with a file-level error", res)
			}
			if code := safetybot.ErrorCode(err); code != safetybot.EINVALID {
				t.Errorf("code %q (%v), want invalid", code, err)
			}
			msg := safetybot.ErrorMessage(err)
			if prefix, ok := strings.CutSuffix(tt.want, "…"); ok {
				if !strings.HasPrefix(msg, prefix) {
					t.Errorf("message %q, want it to start with %q", msg, prefix)
				}
			} else if msg != tt.want {
				t.Errorf("message %q, want %q", msg, tt.want)
			}
			assertChinese(t, msg)
		})
	}
}

func TestSizeLimitIsExact(t *testing.T) {
	// Exactly 50 MB gets past the size check to the format check (binary
	// content keeps the test fast).
	_, err := reader.ReadEnterprises(&generated{n: roster.MaxFileSize, fill: '<'}, "big.csv")
	if msg := safetybot.ErrorMessage(err); !strings.HasPrefix(msg, "无法识别文件格式") {
		t.Errorf("50 MB file: %q, want it past the size check", msg)
	}
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestReadFailureIsInternal(t *testing.T) {
	_, err := reader.ReadEnterprises(failing{}, "e.csv")
	if safetybot.ErrorCode(err) != safetybot.EINTERNAL || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("err %v (code %s), want an internal error wrapping the cause", err, safetybot.ErrorCode(err))
	}
}

func TestStrayQuoteIsReported(t *testing.T) {
	header := strings.Join(enterpriseHeader, ",") + "\n"
	for _, body := range []string{
		"a,某\"店\",c\n",     // a quote inside an unquoted cell
		"\"a\"b,c,d\n",     // text after a closing quote
		"\"a,b,c\nd,e,f\n", // a quote never closed swallows the rest
	} {
		_, err := reader.ReadEnterprises(strings.NewReader(header+body), "e.csv")
		msg := safetybot.ErrorMessage(err)
		if !strings.HasPrefix(msg, "第 2 行的引号不成对") {
			t.Errorf("%q: message %q", body, msg)
		}
	}
}
