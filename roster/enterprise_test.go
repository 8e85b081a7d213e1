package roster_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"safetybot"
	"safetybot/roster"
)

func TestFixturesLoadWithoutErrors(t *testing.T) {
	t.Run("enterprises", func(t *testing.T) {
		res, err := reader.ReadEnterprises(bytes.NewReader(mustFixture(t, "enterprises.csv")), "enterprises.csv")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Errors) > 0 {
			t.Fatalf("errors:\n%s", errorsText(res.Errors))
		}
		if res.Total != 300 || len(res.Rows) != 300 || len(res.Warnings) != 0 {
			t.Fatalf("total %d rows %d warnings %v; want 300, 300, none", res.Total, len(res.Rows), res.Warnings)
		}
		got := res.Rows[2]
		want := time.Date(2021, 9, 14, 0, 0, 0, 0, got.Enterprise.LastInspected.Location())
		if got.Line != 4 || got.Enterprise.CreditCode != "913205815QA4XFD15X" || got.Enterprise.Name != "临江旺美宾馆" ||
			got.Enterprise.Township != "临江镇" || got.Enterprise.Sector != "住宿" || got.Enterprise.Category != "九小场所" ||
			got.Enterprise.SmallType != "小旅馆" || got.Enterprise.KeyUnit || !got.Enterprise.Active ||
			got.PrincipalName != "程霞海" || got.PrincipalUserID != "qy800675" || got.SafetyOfficerUserID != "aq685184" ||
			got.Enterprise.Phone != "18559797114" || got.Enterprise.Address != "临江镇建设路34号" ||
			!got.Enterprise.LastInspected.Equal(want) {
			t.Errorf("row 4 = %+v (last inspected %v)", got, got.Enterprise.LastInspected)
		}
		if res.Rows[3].Enterprise.LastInspected != nil {
			t.Errorf("row 5 has no date, got %v", res.Rows[3].Enterprise.LastInspected)
		}
		for _, row := range res.Rows {
			if err := row.Enterprise.Validate(); err != nil {
				t.Errorf("line %d fails Enterprise.Validate: %v", row.Line, err)
			}
		}
	})
	t.Run("officials", func(t *testing.T) {
		res, err := reader.ReadOfficials(bytes.NewReader(mustFixture(t, "officials.csv")), "officials.csv")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Errors) > 0 {
			t.Fatalf("errors:\n%s", errorsText(res.Errors))
		}
		if res.Total != 40 || len(res.Rows) != 40 {
			t.Fatalf("total %d rows %d; want 40", res.Total, len(res.Rows))
		}
		p := res.Rows[2].Person
		if res.Rows[2].Line != 4 || p.UserID != "zhen01a" || p.Name != "莫红" || p.Role != safetybot.RoleTownship ||
			p.Township != "青石镇" || !p.Leader || !p.Active {
			t.Errorf("line 4 = %+v", res.Rows[2])
		}
		for _, row := range res.Rows {
			if err := row.Person.Validate(); err != nil {
				t.Errorf("line %d fails Person.Validate: %v", row.Line, err)
			}
		}
	})
}

// TestEncodingsAndFormats reads the enterprise fixture in every form an office
// may send it and expects the same rows each time.
func TestEncodingsAndFormats(t *testing.T) {
	utf8CSV := mustFixture(t, "enterprises.csv")
	recs := mustRecords(t, utf8CSV)
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes(utf8CSV)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(gbk, utf8CSV) {
		t.Fatal("GBK encoding changed nothing")
	}
	tabbed := bytes.ReplaceAll(utf8CSV, []byte(","), []byte("\t"))
	crlf := bytes.ReplaceAll(utf8CSV, []byte("\n"), []byte("\r\n"))
	want, err := reader.ReadEnterprises(bytes.NewReader(utf8CSV), "enterprises.csv")
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		data     []byte
		filename string
	}{
		{"utf-8", utf8CSV, "enterprises.csv"},
		{"utf-8 with BOM", append([]byte("\xEF\xBB\xBF"), utf8CSV...), "enterprises.csv"},
		{"gbk as Excel saves it", gbk, "企业名单.csv"},
		{"crlf line ends", crlf, "enterprises.csv"},
		{"tab separated", tabbed, "enterprises.txt"},
		{"xlsx", mustXLSX(t, recs, nil), "企业名单.xlsx"},
		{"xlsx without extension", mustXLSX(t, recs, nil), "upload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := reader.ReadEnterprises(bytes.NewReader(tt.data), tt.filename)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Errors) > 0 {
				t.Fatalf("errors:\n%s", errorsText(res.Errors))
			}
			if res.Total != 300 || len(res.Rows) != 300 {
				t.Fatalf("total %d rows %d; want 300", res.Total, len(res.Rows))
			}
			for i := range res.Rows {
				if !sameRow(res.Rows[i], want.Rows[i]) {
					t.Fatalf("row %d = %+v, want %+v", i, res.Rows[i], want.Rows[i])
				}
			}
		})
	}
}

func sameRow(a, b roster.EnterpriseRow) bool {
	da, db := a.Enterprise.LastInspected, b.Enterprise.LastInspected
	if (da == nil) != (db == nil) || (da != nil && !da.Equal(*db)) {
		return false
	}
	a.Enterprise.LastInspected, b.Enterprise.LastInspected = nil, nil
	return a == b
}

func TestXLSXCells(t *testing.T) {
	recs := [][]string{
		{"青石镇企业名单"}, // a title row above the header
		enterpriseHeader,
		enterprise(1, nil),
		enterprise(2, nil),
		enterprise(3, map[string]string{"name": "原名"}),
	}
	hyperlink := `HYPERLINK("http://x","y")`
	data := mustXLSX(t, recs, func(f *excelize.File, sheet string) {
		// B3 (below the title row and the header): the first enterprise's name.
		must(t, f.SetCellFormula(sheet, "B3", hyperlink))
		// A real Excel date: a serial number with a date format.
		style, err := f.NewStyle(&excelize.Style{NumFmt: 14})
		must(t, err)
		must(t, f.SetCellValue(sheet, "M3", time.Date(2025, 3, 9, 0, 0, 0, 0, time.UTC)))
		must(t, f.SetCellStyle(sheet, "M3", "M3", style))
		// A phone typed as a number, and a date typed as text.
		must(t, f.SetCellInt(sheet, "K4", 13912345678))
		must(t, f.SetCellStr(sheet, "M4", "2025/7/1"))
		// A formula with a cached result: the formula text wins, never the value.
		must(t, f.SetCellFormula(sheet, "B5", `"计算"&"结果"`))
		// A blank row in between, then a row after it keeps its sheet line.
		must(t, f.SetSheetRow(sheet, "A7", &[]any{validCode(4), "七号企业", "白沙镇", "", "一般企业", "", "是", "李娜", "qy777777"}))
	})
	res, err := reader.ReadEnterprises(bytes.NewReader(data), "名单.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 {
		t.Fatalf("errors:\n%s", errorsText(res.Errors))
	}
	if len(res.Rows) != 4 {
		t.Fatalf("rows %d, want 4", len(res.Rows))
	}
	if got := res.Rows[0].Enterprise.Name; got != "="+hyperlink {
		t.Errorf("formula cell = %q, want %q", got, "="+hyperlink)
	}
	if d := res.Rows[0].Enterprise.LastInspected; d == nil || d.Format("2006-01-02") != "2025-03-09" {
		t.Errorf("date cell = %v, want 2025-03-09", d)
	}
	if got := res.Rows[1].Enterprise.Phone; got != "13912345678" {
		t.Errorf("numeric phone = %q", got)
	}
	if d := res.Rows[1].Enterprise.LastInspected; d == nil || d.Format("2006-01-02") != "2025-07-01" {
		t.Errorf("text date = %v, want 2025-07-01", d)
	}
	if got := res.Rows[2].Enterprise.Name; got != `="计算"&"结果"` {
		t.Errorf("formula with cached value = %q", got)
	}
	lines := []int{res.Rows[0].Line, res.Rows[1].Line, res.Rows[2].Line, res.Rows[3].Line}
	if !slices.Equal(lines, []int{3, 4, 5, 7}) {
		t.Errorf("lines %v, want [3 4 5 7]", lines)
	}
	if !res.Rows[3].Enterprise.KeyUnit {
		t.Error("key unit 是 read as false")
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "表头在第 2 行") {
		t.Errorf("warnings %q, want one about the title row", res.Warnings)
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func TestCSVFormulaTextKeptVerbatim(t *testing.T) {
	for _, v := range []string{`=HYPERLINK("http://x","y")`, "+86 dial", "-1", "@SUM(A1)"} {
		t.Run(v, func(t *testing.T) {
			data := csvBytes(t, [][]string{enterpriseHeader, enterprise(1, map[string]string{"name": v, "address": v})})
			res, err := reader.ReadEnterprises(bytes.NewReader(data), "a.csv")
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Rows) != 1 || res.Rows[0].Enterprise.Name != v || res.Rows[0].Enterprise.Address != v {
				t.Fatalf("rows %+v errors %v, want name and address %q", res.Rows, res.Errors, v)
			}
		})
	}
}

// TestEnterpriseRowRules changes one cell of a valid row at a time.
func TestEnterpriseRowRules(t *testing.T) {
	code := validCode(1)
	tests := []struct {
		name   string
		change map[string]string
		field  string // "" = the row is valid
		msg    string // substring of the message
		check  func(t *testing.T, row roster.EnterpriseRow)
	}{
		{"valid row", nil, "", "", nil},
		{"wrong check character", map[string]string{"credit_code": wrongCheck(code)}, "credit_code", "统一社会信用代码校验位错误", nil},
		{"code too short", map[string]string{"credit_code": code[:17]}, "credit_code", "应为18位（现为17位）", nil},
		{"code with letter O", map[string]string{"credit_code": code[:5] + "O" + code[6:]}, "credit_code", "第6位字符不合法", nil},
		{"code empty", map[string]string{"credit_code": " "}, "credit_code", "统一社会信用代码不能为空", nil},
		{"code lower case, full width, spaced", map[string]string{"credit_code": "　" + fullWidth(strings.ToLower(code[:9])) + " " + code[9:] + " "}, "", "", func(t *testing.T, row roster.EnterpriseRow) {
			if row.Enterprise.CreditCode != code {
				t.Errorf("code %q, want %q", row.Enterprise.CreditCode, code)
			}
		}},
		{"name empty", map[string]string{"name": "　"}, "name", "企业名称不能为空", nil},
		{"name trimmed", map[string]string{"name": "　 小店 \t"}, "", "", func(t *testing.T, row roster.EnterpriseRow) {
			if row.Enterprise.Name != "小店" {
				t.Errorf("name %q", row.Enterprise.Name)
			}
		}},
		{"township empty", map[string]string{"township": ""}, "township", "所属镇街不能为空", nil},
		{"category empty", map[string]string{"category": ""}, "category", "类别不能为空", nil},
		{"category unknown", map[string]string{"category": "小作坊"}, "category", "类别“小作坊”不正确", nil},
		{"category 一般", map[string]string{"category": "一般", "small_place_type": ""}, "", "", func(t *testing.T, row roster.EnterpriseRow) {
			if row.Enterprise.Category != safetybot.CategoryGeneral {
				t.Errorf("category %q", row.Enterprise.Category)
			}
		}},
		{"nine-small type missing", map[string]string{"small_place_type": ""}, "small_place_type", "九小场所须填写场所类型", nil},
		{"nine-small type unknown", map[string]string{"small_place_type": "小化工"}, "small_place_type", "“小化工”不是九小场所的类型", nil},
		{"nine-small fixture type", map[string]string{"small_place_type": "小棋牌室"}, "", "", nil},
		{"five-small type", map[string]string{"category": "五小企业", "small_place_type": "小电镀"}, "", "", nil},
		{"five-small fixture type", map[string]string{"category": "五小企业", "small_place_type": "小皮革"}, "", "", nil},
		{"five-small wrong type", map[string]string{"category": "五小企业", "small_place_type": "小医院"}, "small_place_type", "“小医院”不是五小企业的类型", nil},
		{"general with a type is ignored", map[string]string{"category": "一般企业", "small_place_type": "小医院"}, "", "", func(t *testing.T, row roster.EnterpriseRow) {
			if row.Enterprise.SmallType != "" {
				t.Errorf("small type %q kept", row.Enterprise.SmallType)
			}
		}},
		{"key unit 是", map[string]string{"key_unit": "是"}, "", "", func(t *testing.T, row roster.EnterpriseRow) {
			if !row.Enterprise.KeyUnit {
				t.Error("key unit false")
			}
		}},
		{"key unit Y", map[string]string{"key_unit": "Y"}, "", "", func(t *testing.T, row roster.EnterpriseRow) {
			if !row.Enterprise.KeyUnit {
				t.Error("key unit false")
			}
		}},
		{"key unit true", map[string]string{"key_unit": "TRUE"}, "", "", nil},
		{"key unit 0", map[string]string{"key_unit": "0"}, "", "", nil},
		{"key unit empty", map[string]string{"key_unit": ""}, "", "", nil},
		{"key unit unclear", map[string]string{"key_unit": "待定"}, "key_unit", "重点监管单位应填“是”或“否”，现为“待定”", nil},
		{"principal name empty", map[string]string{"principal_name": ""}, "principal_name", "主要负责人姓名不能为空", nil},
		{"principal userid empty", map[string]string{"principal_userid": ""}, "principal_userid", "负责人企业微信账号不能为空", nil},
		{"principal userid is a name", map[string]string{"principal_userid": "王伟"}, "principal_userid", "负责人企业微信账号“王伟”格式不正确", nil},
		{"principal userid full width", map[string]string{"principal_userid": "ｑｙ００１"}, "", "", func(t *testing.T, row roster.EnterpriseRow) {
			if row.PrincipalUserID != "qy001" {
				t.Errorf("userid %q", row.PrincipalUserID)
			}
		}},
		{"safety officer userid bad", map[string]string{"safety_officer_userid": "a b"}, "safety_officer_userid", "安全管理员账号“a b”格式不正确", nil},
		{"safety officer is the principal", map[string]string{"principal_userid": "Qy1", "safety_officer_userid": "qy1"}, "safety_officer_userid", "与负责人账号相同", nil},
		{"phone landline", map[string]string{"phone": "0512-6512 3456"}, "", "", nil},
		{"phone landline in brackets", map[string]string{"phone": "（0512）65123456"}, "", "", nil},
		{"phone two numbers", map[string]string{"phone": "13912345678/0512-65123456"}, "", "", nil},
		{"phone full width", map[string]string{"phone": "１３９１２３４５６７８"}, "", "", func(t *testing.T, row roster.EnterpriseRow) {
			if row.Enterprise.Phone != "13912345678" {
				t.Errorf("phone %q", row.Enterprise.Phone)
			}
		}},
		{"phone too short", map[string]string{"phone": "1391234567"}, "phone", "联系电话“1391234567”格式不正确", nil},
		{"landline without area code", map[string]string{"phone": "65123456"}, "phone", "格式不正确", nil},
		{"date with slashes", map[string]string{"last_inspected": "2025/3/1"}, "", "", dateIs("2025-03-01")},
		{"date with dots", map[string]string{"last_inspected": "2025.03.01"}, "", "", dateIs("2025-03-01")},
		{"date in Chinese", map[string]string{"last_inspected": "2025年3月1日"}, "", "", dateIs("2025-03-01")},
		{"date with time from Excel csv", map[string]string{"last_inspected": "2025/3/1 0:00"}, "", "", dateIs("2025-03-01")},
		{"ISO date-time", map[string]string{"last_inspected": "2025-03-01T00:00:00Z"}, "", "", dateIs("2025-03-01")},
		{"date as digits", map[string]string{"last_inspected": "20250301"}, "", "", dateIs("2025-03-01")},
		{"date today", map[string]string{"last_inspected": "2026-01-15"}, "", "", dateIs("2026-01-15")},
		{"date in the future", map[string]string{"last_inspected": "2026-01-16"}, "last_inspected", "最近检查日期 2026-01-16 晚于今天", nil},
		{"date impossible", map[string]string{"last_inspected": "2025-02-30"}, "last_inspected", "最近检查日期“2025-02-30”看不懂", nil},
		{"serial number in csv", map[string]string{"last_inspected": "45658"}, "last_inspected", "看不懂", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := csvBytes(t, [][]string{enterpriseHeader, enterprise(1, tt.change)})
			res, err := reader.ReadEnterprises(bytes.NewReader(data), "e.csv")
			if err != nil {
				t.Fatal(err)
			}
			if tt.field == "" {
				if len(res.Errors) > 0 || len(res.Rows) != 1 {
					t.Fatalf("want a valid row, got errors:\n%s", errorsText(res.Errors))
				}
				if tt.check != nil {
					tt.check(t, res.Rows[0])
				}
				return
			}
			if len(res.Errors) != 1 {
				t.Fatalf("want one error, got:\n%s", errorsText(res.Errors))
			}
			e := res.Errors[0]
			if e.Line != 2 || e.Field != tt.field || !strings.Contains(e.Message, tt.msg) {
				t.Errorf("error %+v, want line 2, field %s, message with %q", e, tt.field, tt.msg)
			}
			assertChinese(t, e.Message)
			if len(res.Rows) != 0 {
				t.Errorf("bad row kept in Rows: %+v", res.Rows)
			}
		})
	}
}

func dateIs(want string) func(t *testing.T, row roster.EnterpriseRow) {
	return func(t *testing.T, row roster.EnterpriseRow) {
		d := row.Enterprise.LastInspected
		if d == nil || d.Format("2006-01-02") != want {
			t.Errorf("date %v, want %s", d, want)
		}
		if _, offset := d.Zone(); d != nil && (d.Hour() != 0 || offset != 8*60*60) {
			t.Errorf("date %v is not midnight in China", d)
		}
	}
}

func fullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r > ' ' && r < 0x7F {
			return r + 0xFEE0
		}
		return r
	}, s)
}

func TestRowErrorString(t *testing.T) {
	e := roster.RowError{Line: 12, Field: "credit_code", Message: "统一社会信用代码校验位错误"}
	if got := e.String(); got != "第 12 行: 统一社会信用代码校验位错误" {
		t.Errorf("String() = %q", got)
	}
}

func TestDuplicatesInsideFile(t *testing.T) {
	dup := validCode(7)
	data := csvBytes(t, [][]string{
		enterpriseHeader,
		enterprise(1, map[string]string{"credit_code": dup}),
		enterprise(2, nil),
		enterprise(3, map[string]string{"credit_code": dup}),
		enterprise(4, map[string]string{"credit_code": dup}),
		// One person may lead two enterprises, but under one name.
		enterprise(5, map[string]string{"principal_userid": "boss"}),
		enterprise(6, map[string]string{"principal_userid": "boss"}),
		enterprise(8, map[string]string{"principal_userid": "BOSS", "principal_name": "李四"}),
	})
	res, err := reader.ReadEnterprises(bytes.NewReader(data), "e.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"第 2 行: 统一社会信用代码与第 4、5 行重复",
		"第 4 行: 统一社会信用代码与第 2、5 行重复",
		"第 5 行: 统一社会信用代码与第 2、4 行重复",
		"第 8 行: 负责人账号 BOSS 在第 6 行的姓名是“王伟”，与本行“李四”不一致",
	}
	if got := strings.Split(strings.TrimSpace(errorsText(res.Errors)), "\n"); !slices.Equal(got, want) {
		t.Errorf("errors\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var lines []int
	for _, r := range res.Rows {
		lines = append(lines, r.Line)
	}
	if res.Total != 7 || !slices.Equal(lines, []int{3, 6, 7}) {
		t.Errorf("total %d, good lines %v; want 7, [3 6 7]", res.Total, lines)
	}
}

func TestChineseHeadersShuffled(t *testing.T) {
	recs := mustRecords(t, mustFixture(t, "enterprises.csv"))
	chinese := map[string]string{
		"credit_code": "统一社会信用代码", "name": "企业名称", "township": "所属镇街", "sector": "行业",
		"category": "类别", "small_place_type": "九小场所类型", "key_unit": "重点监管单位",
		"principal_name": "主要负责人", "principal_userid": "负责人企业微信账号",
		"safety_officer_userid": "安全管理员账号", "phone": "联系电话", "address": "地址",
		"last_inspected": "最近检查日期",
	}
	order := []int{12, 3, 0, 9, 5, 1, 11, 7, 2, 10, 4, 8, 6} // a fixed shuffle
	shuffled := make([][]string, len(recs))
	for i, rec := range recs {
		row := []string{"备注"} // an extra column, first
		if i > 0 {
			row[0] = "无"
		}
		for _, j := range order {
			v := rec[j]
			if i == 0 {
				v = " " + chinese[v] + "　" // header cells are trimmed
			}
			row = append(row, v)
		}
		shuffled[i] = row
	}
	want, err := reader.ReadEnterprises(bytes.NewReader(mustFixture(t, "enterprises.csv")), "e.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"csv", "xlsx"} {
		t.Run(format, func(t *testing.T) {
			data := csvBytes(t, shuffled)
			if format == "xlsx" {
				data = mustXLSX(t, shuffled, nil)
			}
			res, err := reader.ReadEnterprises(bytes.NewReader(data), "名单."+format)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Errors) > 0 || len(res.Rows) != 300 {
				t.Fatalf("rows %d, errors:\n%s", len(res.Rows), errorsText(res.Errors))
			}
			for i := range res.Rows {
				if !sameRow(res.Rows[i], want.Rows[i]) {
					t.Fatalf("row %d = %+v, want %+v", i, res.Rows[i], want.Rows[i])
				}
			}
			if len(res.Warnings) != 1 || res.Warnings[0] != "已忽略无法识别的列：备注" {
				t.Errorf("warnings %q", res.Warnings)
			}
		})
	}
}

func TestHeaderAliases(t *testing.T) {
	tests := []struct {
		name   string
		header []string
	}{
		{"五小企业类型", []string{"统一社会信用代码", "企业名称", "所属镇街", "类别", "五小企业类型", "主要负责人", "负责人企业微信账号"}},
		{"小场所类型", []string{"统一社会信用代码", "企业名称", "所属镇街", "类别", "小场所类型", "主要负责人", "负责人企业微信账号"}},
		{"required marks", []string{"*统一社会信用代码", "企业名称（必填）", "＊所属镇街", "类别", "九小场所类型", "主要负责人", "负责人企业微信账号"}},
		{"English in capitals", []string{"CREDIT_CODE", "Name", "Township", "Category", "Small_Place_Type", "Principal_Name", "Principal_UserID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := csvBytes(t, [][]string{tt.header, {validCode(1), "某店", "青石镇", "五小企业", "小电镀", "王伟", "qy1"}})
			res, err := reader.ReadEnterprises(bytes.NewReader(data), "e.csv")
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Errors) > 0 || len(res.Rows) != 1 || res.Rows[0].Enterprise.SmallType != "小电镀" {
				t.Fatalf("rows %+v errors:\n%s", res.Rows, errorsText(res.Errors))
			}
		})
	}
	t.Run("both small-type columns", func(t *testing.T) {
		data := csvBytes(t, [][]string{
			{"统一社会信用代码", "企业名称", "所属镇街", "类别", "九小场所类型", "五小企业类型", "主要负责人", "负责人企业微信账号"},
			{validCode(1), "某店", "青石镇", "九小场所", "小餐饮", "", "王伟", "qy1"},
			{validCode(2), "某厂", "青石镇", "五小企业", "", "小电镀", "李娜", "qy2"},
		})
		res, err := reader.ReadEnterprises(bytes.NewReader(data), "e.csv")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Errors) > 0 || len(res.Rows) != 2 || res.Rows[1].Enterprise.SmallType != "小电镀" {
			t.Fatalf("rows %+v errors:\n%s", res.Rows, errorsText(res.Errors))
		}
	})
}

func TestCheckOfficials(t *testing.T) {
	data := csvBytes(t, [][]string{
		enterpriseHeader,
		enterprise(1, map[string]string{"principal_userid": "zhen01a"}),
		enterprise(2, map[string]string{"safety_officer_userid": "bm01"}),
		enterprise(3, map[string]string{"safety_officer_userid": "aq3"}),
		enterprise(4, map[string]string{"credit_code": "bad"}),
	})
	res, err := reader.ReadEnterprises(bytes.NewReader(data), "e.csv")
	if err != nil {
		t.Fatal(err)
	}
	officials := map[string]bool{"zhen01a": true, "bm01": true}
	roster.CheckOfficials(res, func(userid string) bool { return officials[userid] })
	want := []string{
		"第 2 行: 负责人账号 zhen01a 已登记为干部，不能作为企业负责人",
		"第 3 行: 安全管理员账号 bm01 已登记为干部，不能作为企业安全管理员",
		"第 5 行: 统一社会信用代码应为18位（现为3位）",
	}
	if got := strings.Split(strings.TrimSpace(errorsText(res.Errors)), "\n"); !slices.Equal(got, want) {
		t.Errorf("errors\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(res.Rows) != 1 || res.Rows[0].Line != 4 {
		t.Errorf("rows %+v, want only line 4", res.Rows)
	}
}

// TestManyRows checks the generated roster the benchmark uses.
func TestManyRows(t *testing.T) {
	data := manyEnterprises(t, 5000)
	start := time.Now()
	res, err := reader.ReadEnterprises(bytes.NewReader(data), "e.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 || len(res.Rows) != 5000 {
		t.Fatalf("rows %d errors:\n%s", len(res.Rows), errorsText(res.Errors[:min(10, len(res.Errors))]))
	}
	t.Logf("5000 rows in %v", time.Since(start))
}

// manyEnterprises is the fixture roster repeated to n rows with fresh codes and
// userids.
func manyEnterprises(tb testing.TB, n int) []byte {
	recs := mustRecords(tb, mustFixture(tb, "enterprises.csv"))
	out := [][]string{recs[0]}
	for i := 0; i < n; i++ {
		rec := slices.Clone(recs[1+i%(len(recs)-1)])
		rec[0] = validCode(i)
		rec[8] = fmt.Sprintf("qy%07d", i)
		if rec[9] != "" {
			rec[9] = fmt.Sprintf("aq%07d", i)
		}
		out = append(out, rec)
	}
	return csvBytes(tb, out)
}

func BenchmarkReadEnterprises5000(b *testing.B) {
	for _, format := range []string{"csv", "xlsx"} {
		b.Run(format, func(b *testing.B) {
			data := manyEnterprises(b, 5000)
			if format == "xlsx" {
				data = mustXLSX(b, mustRecords(b, data), nil)
			}
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			for b.Loop() {
				res, err := reader.ReadEnterprises(bytes.NewReader(data), "e."+format)
				if err != nil || len(res.Rows) != 5000 {
					b.Fatalf("rows %d err %v", len(res.Rows), err)
				}
			}
		})
	}
}

func TestManyDuplicatesStayShort(t *testing.T) {
	recs := [][]string{enterpriseHeader}
	for i := range 8 {
		recs = append(recs, enterprise(i, map[string]string{"credit_code": validCode(99)}))
	}
	res, err := reader.ReadEnterprises(bytes.NewReader(csvBytes(t, recs)), "e.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 8 || len(res.Rows) != 0 {
		t.Fatalf("errors:\n%s", errorsText(res.Errors))
	}
	if got, want := res.Errors[0].String(), "第 2 行: 统一社会信用代码与第 3、4、5、6、7 行等 7 行重复"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := res.Errors[7].String(), "第 9 行: 统一社会信用代码与第 2、3、4、5、6 行等 7 行重复"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
