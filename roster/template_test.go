package roster_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/xuri/excelize/v2"

	"safetybot"
	"safetybot/roster"
)

func TestWriteTemplate(t *testing.T) {
	tests := []struct {
		kind   string
		header []string
		row    []any
		read   func(data []byte) (total int, errs []roster.RowError, err error)
	}{
		{
			kind: "enterprises",
			header: []string{"统一社会信用代码", "企业名称", "所属镇街", "行业", "类别", "九小场所类型", "重点监管单位",
				"主要负责人", "负责人企业微信账号", "安全管理员账号", "联系电话", "地址", "最近检查日期"},
			row: []any{validCode(1), "某店", "青石镇", "餐饮", "九小场所", "小餐饮", "是", "王伟", "qy1", "", "13912345678", "人民路1号", "2025-05-05"},
			read: func(data []byte) (int, []roster.RowError, error) {
				res, err := reader.ReadEnterprises(bytes.NewReader(data), "template.xlsx")
				if err != nil {
					return 0, nil, err
				}
				return len(res.Rows), res.Errors, nil
			},
		},
		{
			kind:   "officials",
			header: []string{"账号", "姓名", "角色", "镇街", "部门", "是否领导"},
			row:    []any{"zhen01a", "莫红", "镇街", "青石镇", "", "是"},
			read: func(data []byte) (int, []roster.RowError, error) {
				res, err := reader.ReadOfficials(bytes.NewReader(data), "template.xlsx")
				if err != nil {
					return 0, nil, err
				}
				return len(res.Rows), res.Errors, nil
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			var buf bytes.Buffer
			if err := roster.WriteTemplate(&buf, tt.kind); err != nil {
				t.Fatal(err)
			}
			f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sheet := f.GetSheetList()[0]
			rows, err := f.GetRows(sheet)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 || !slices.Equal(rows[0], tt.header) {
				t.Fatalf("template rows %q, want the header %q", rows, tt.header)
			}

			// As downloaded it has no data: the reader says so.
			if _, _, err := tt.read(buf.Bytes()); safetybot.ErrorMessage(err) != "文件只有表头，没有数据行" {
				t.Errorf("empty template: %v", err)
			}
			// Filled in, it imports cleanly.
			if err := f.SetSheetRow(sheet, "A2", &tt.row); err != nil {
				t.Fatal(err)
			}
			var filled bytes.Buffer
			if err := f.Write(&filled); err != nil {
				t.Fatal(err)
			}
			n, errs, err := tt.read(filled.Bytes())
			if err != nil || len(errs) > 0 || n != 1 {
				t.Errorf("filled template: rows %d errors %v err %v", n, errs, err)
			}
		})
	}
	t.Run("unknown kind", func(t *testing.T) {
		err := roster.WriteTemplate(&bytes.Buffer{}, "hazards")
		if safetybot.ErrorCode(err) != safetybot.EINVALID {
			t.Fatalf("err %v", err)
		}
		assertChinese(t, safetybot.ErrorMessage(err))
	})
}
