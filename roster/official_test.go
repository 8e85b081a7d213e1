package roster_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"safetybot"
)

func TestOfficialRowRules(t *testing.T) {
	tests := []struct {
		name  string
		row   []string // userid, name, role, township, department, leader
		field string
		msg   string
	}{
		{"township official", []string{"zhen01a", "莫红", "镇街", "青石镇", "", "是"}, "", ""},
		{"department official in Chinese", []string{"bm01", "肖波兰", "部门干部", "", "安监局", "否"}, "", ""},
		{"office", []string{"office01", "袁伟欣", "office", "", "市安委办", ""}, "", ""},
		{"userid empty", []string{"", "莫红", "township", "青石镇", "", ""}, "userid", "账号不能为空"},
		{"userid bad", []string{"莫红", "莫红", "township", "青石镇", "", ""}, "userid", "账号“莫红”格式不正确"},
		{"name empty", []string{"zhen01a", " ", "township", "青石镇", "", ""}, "name", "姓名不能为空"},
		{"role empty", []string{"zhen01a", "莫红", "", "青石镇", "", ""}, "role", "角色不能为空"},
		{"role unknown", []string{"zhen01a", "莫红", "村长", "青石镇", "", ""}, "role", "角色“村长”不正确"},
		{"principal is no official", []string{"qy1", "王伟", "负责人", "", "", ""}, "role", "角色“负责人”不是干部角色"},
		{"township missing", []string{"zhen01a", "莫红", "township", "", "", ""}, "township", "镇街干部须填写所属镇街"},
		{"department missing", []string{"bm01", "肖波兰", "department", "", "", ""}, "department", "部门干部须填写所属部门"},
		{"leader unclear", []string{"bm01", "肖波兰", "department", "", "安监局", "主任"}, "leader", "是否领导应填“是”或“否”，现为“主任”"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := csvBytes(t, [][]string{officialHeader, tt.row})
			res, err := reader.ReadOfficials(bytes.NewReader(data), "o.csv")
			if err != nil {
				t.Fatal(err)
			}
			if tt.field == "" {
				if len(res.Errors) > 0 || len(res.Rows) != 1 {
					t.Fatalf("want a valid row, got:\n%s", errorsText(res.Errors))
				}
				if err := res.Rows[0].Person.Validate(); err != nil {
					t.Errorf("Person.Validate: %v", err)
				}
				return
			}
			if len(res.Errors) != 1 || len(res.Rows) != 0 {
				t.Fatalf("want one error and no rows, got rows %d:\n%s", len(res.Rows), errorsText(res.Errors))
			}
			e := res.Errors[0]
			if e.Line != 2 || e.Field != tt.field || !strings.Contains(e.Message, tt.msg) {
				t.Errorf("error %+v, want line 2, field %s, message with %q", e, tt.field, tt.msg)
			}
			assertChinese(t, e.Message)
		})
	}
}

func TestOfficialsChineseHeadersAndDuplicates(t *testing.T) {
	data := csvBytes(t, [][]string{
		{"角色", "是否领导", "姓名", "账号", "部门", "镇街"},
		{"镇街", "是", "莫红", "zhen01a", "", "青石镇"},
		{"部门", "", "肖波兰", "bm01", "安监局", ""},
		{"镇街", "否", "郑鹏", "ＺＨＥＮ01A", "", "青石镇"},
	})
	res, err := reader.ReadOfficials(bytes.NewReader(data), "干部.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"第 2 行: 账号与第 4 行重复", "第 4 行: 账号与第 2 行重复"}
	if got := strings.Split(strings.TrimSpace(errorsText(res.Errors)), "\n"); !slices.Equal(got, want) {
		t.Errorf("errors %q, want %q", got, want)
	}
	if len(res.Rows) != 1 || res.Rows[0].Person.UserID != "bm01" || res.Rows[0].Person.Role != safetybot.RoleDepartment ||
		res.Rows[0].Person.Department != "安监局" || res.Rows[0].Person.Leader {
		t.Errorf("rows %+v", res.Rows)
	}
}

func TestOfficialsMissingColumn(t *testing.T) {
	data := csvBytes(t, [][]string{{"账号", "姓名", "镇街"}, {"zhen01a", "莫红", "青石镇"}})
	_, err := reader.ReadOfficials(bytes.NewReader(data), "o.csv")
	if msg := safetybot.ErrorMessage(err); msg != "缺少必填列：角色" {
		t.Errorf("message %q (err %v)", msg, err)
	}
}
