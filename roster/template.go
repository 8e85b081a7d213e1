package roster

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/xuri/excelize/v2"

	"safetybot"
)

// templateRows is how far down the template's drop-down lists and formats reach.
const templateRows = 10000

// WriteTemplate writes an empty XLSX roster for the admin page's "download
// template" link: the Chinese headers (required ones in red), text-formatted
// cells so Excel keeps codes, userids and phone numbers as typed, drop-down
// lists for the fixed choices, and a 填写说明 sheet. kind is "enterprises" or
// "officials".
func WriteTemplate(w io.Writer, kind string) error {
	var s *schema
	switch strings.ToLower(strings.TrimSpace(kind)) {
	case "enterprises", "enterprise":
		s = enterpriseSchema
	case "officials", "official":
		s = officialSchema
	default:
		return invalid("模板类型“%s”不正确，应为 enterprises 或 officials", kind)
	}
	f := excelize.NewFile()
	defer f.Close()
	if err := buildTemplate(f, s); err != nil {
		return fmt.Errorf("build %s template: %w", s.kind, err)
	}
	if err := f.Write(w); err != nil {
		return fmt.Errorf("write %s template: %w", s.kind, err)
	}
	return nil
}

func buildTemplate(f *excelize.File, s *schema) error {
	sheet := s.title
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49}) // "@": keep as typed
	if err != nil {
		return err
	}
	dateFmt := "yyyy-mm-dd"
	date, err := f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt})
	if err != nil {
		return err
	}
	head := func(color string) (int, error) {
		return f.NewStyle(&excelize.Style{
			Font:      &excelize.Font{Bold: true, Color: color},
			Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
			Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center"},
		})
	}
	required, err := head("C00000")
	if err != nil {
		return err
	}
	optional, err := head("000000")
	if err != nil {
		return err
	}

	col := 0
	for i, c := range s.columns {
		if c.extra {
			continue
		}
		col++
		name, err := excelize.ColumnNumberToName(col)
		if err != nil {
			return err
		}
		style := text
		if s == enterpriseSchema && i == eLastInspected {
			style = date
		}
		if err := f.SetColStyle(sheet, name, style); err != nil {
			return err
		}
		if err := f.SetColWidth(sheet, name, name, max(12, float64(len([]rune(c.label)))*2.4)); err != nil {
			return err
		}
		cell := name + "1"
		if err := f.SetCellStr(sheet, cell, c.label); err != nil {
			return err
		}
		hs := optional
		if c.required {
			hs = required
		}
		if err := f.SetCellStyle(sheet, cell, cell, hs); err != nil {
			return err
		}
		if list := dropList(s, i); list != nil {
			dv := excelize.NewDataValidation(true)
			dv.SetSqref(fmt.Sprintf("%s2:%s%d", name, name, templateRows+1))
			if err := dv.SetDropList(list); err != nil {
				return err
			}
			dv.SetError(excelize.DataValidationErrorStyleStop, c.label, "请从下拉列表中选择："+strings.Join(list, "、"))
			if err := f.AddDataValidation(sheet, dv); err != nil {
				return err
			}
		}
	}
	if err := f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	return writeInstructions(f, s, optional)
}

// dropList returns the fixed choices of column i, or nil.
func dropList(s *schema, i int) []string {
	yesNo := []string{"是", "否"}
	switch {
	case s == enterpriseSchema && i == eCategory:
		return safetybot.Categories
	case s == enterpriseSchema && i == eSmallType:
		return slices.Concat(smallTypes(safetybot.CategoryNineSmall), smallTypes(safetybot.CategoryFiveSmall))
	case s == enterpriseSchema && i == eKeyUnit, s == officialSchema && i == oLeader:
		return yesNo
	case s == officialSchema && i == oRole:
		return []string{"镇街", "部门", "市安委办"}
	}
	return nil
}

func writeInstructions(f *excelize.File, s *schema, headStyle int) error {
	sheet := instructionsSheet
	if _, err := f.NewSheet(sheet); err != nil {
		return err
	}
	what := "企业"
	if s == officialSchema {
		what = "干部"
	}
	rows := [][]any{
		{fmt.Sprintf("“%s”表第一行是表头，请不要改动；从第二行起每行填一个%s。红色表头为必填。", s.title, what)},
		{"列名", "是否必填", "说明"},
	}
	for i, c := range s.columns {
		if c.extra {
			continue
		}
		req := "选填"
		if c.required {
			req = "必填"
		}
		hint := c.hint
		if s == enterpriseSchema && i == eSmallType {
			hint = fmt.Sprintf("九小场所填：%s；五小企业填：%s；一般企业不填",
				strings.Join(smallTypes(safetybot.CategoryNineSmall), "、"),
				strings.Join(smallTypes(safetybot.CategoryFiveSmall), "、"))
		}
		rows = append(rows, []any{c.label, req, hint})
	}
	rows = append(rows, []any{}, []any{"也可以上传 CSV 文件（UTF-8 或 Excel 默认的 GBK 编码），文件不超过 50 MB。"})
	for r, row := range rows {
		if err := f.SetSheetRow(sheet, fmt.Sprintf("A%d", r+1), &row); err != nil {
			return err
		}
	}
	if err := f.SetCellStyle(sheet, "A2", "C2", headStyle); err != nil {
		return err
	}
	if err := f.SetColWidth(sheet, "A", "A", 22); err != nil {
		return err
	}
	if err := f.SetColWidth(sheet, "B", "B", 10); err != nil {
		return err
	}
	return f.SetColWidth(sheet, "C", "C", 80)
}
