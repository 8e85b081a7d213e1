package form_test

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"safetybot"
	"safetybot/messages/form"
)

func TestShippedDefinitions(t *testing.T) {
	r := MustShipped(t)
	for _, tc := range []struct {
		key, part    string
		minQuestions int
	}{
		{"general", form.PartBase, 15},
		{"nine-small", form.PartBase, 15},
		{"five-small", form.PartBase, 13},
		{"key-unit", form.PartExtra, 3},
		{"closing", form.PartClosing, 5},
	} {
		t.Run(tc.key, func(t *testing.T) {
			d, ok := r.Definition(tc.key, 0)
			if !ok {
				t.Fatalf("definition %s not shipped", tc.key)
			}
			if d.Part != tc.part || len(d.Questions) < tc.minQuestions || d.Version < 1 {
				t.Fatalf("%s: part %s, %d questions, version %d", tc.key, d.Part, len(d.Questions), d.Version)
			}
		})
	}
}

func TestNineSmallCoversTheFifteenItems(t *testing.T) {
	d, _ := MustShipped(t).Definition("nine-small", 0)
	checks := 0
	conditional := map[string]bool{}
	for _, q := range d.Questions {
		if q.FailOn != "" {
			checks++
		}
		if q.When != nil {
			conditional[q.When.Key] = true
		}
	}
	if checks < 12 {
		t.Errorf("nine-small has %d checklist items, want ≥ 12", checks)
	}
	if !conditional["fuel"] || !conditional[form.CtxSmallType] {
		t.Errorf("want gas items conditional on fuel and kitchen items on _small_type, got %v", conditional)
	}
}

// Every enterprise of the fixture roster gets a form; every composed form ends
// with the closing items and runs to the review with valid answers.
func TestForEveryFixtureEnterprise(t *testing.T) {
	file, err := os.Open("../../testdata/fixtures/enterprises.csv")
	if err != nil {
		t.Fatalf("fixture roster: %v", err)
	}
	defer file.Close()
	rows, err := csv.NewReader(file).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	r := MustShipped(t)
	type combo struct {
		category, smallType string
		keyUnit             bool
	}
	seen := map[combo]bool{}
	for _, row := range rows[1:] {
		c := combo{row[col["category"]], row[col["small_place_type"]], row[col["key_unit"]] == "是"}
		f, err := r.For(c.category, c.smallType, c.keyUnit)
		if err != nil {
			t.Fatalf("%s: For(%q, %q, %v): %v", row[col["name"]], c.category, c.smallType, c.keyUnit, err)
		}
		if seen[c] {
			continue
		}
		seen[c] = true
		t.Run(c.category+"/"+c.smallType+"/"+map[bool]string{true: "key-unit", false: "plain"}[c.keyUnit], func(t *testing.T) {
			wantParts := map[string]string{safetybot.CategoryGeneral: "general", safetybot.CategoryNineSmall: "nine-small", safetybot.CategoryFiveSmall: "five-small"}[c.category]
			if c.keyUnit {
				wantParts += "+key-unit"
			}
			wantParts += "+closing"
			if f.Key != wantParts {
				t.Errorf("Key %q, want %q", f.Key, wantParts)
			}
			if _, versions, err := form.ParseVersion(f.Version()); err != nil || len(versions) != len(f.Parts) {
				t.Errorf("Version %q: %v", f.Version(), err)
			}
			var tail []string
			for _, q := range f.Questions[len(f.Questions)-5:] {
				tail = append(tail, q.Key)
			}
			if want := []string{"inspector", "inspect_date", "published", "overall_photos", "remarks"}; !slices.Equal(tail, want) {
				t.Errorf("form ends with %v, want %v", tail, want)
			}
			if q := f.Question("published"); q == nil || q.Text != "本月自查结果是否已在单位内部公示（每月30日）" || q.Type != form.TypeYesNo {
				t.Errorf("S7 publication item missing or changed: %+v", q)
			}
			conv := start(t, f, form.Context{Enterprise: row[col["name"]], Category: c.category, SmallType: c.smallType, KeyUnit: c.keyUnit})
			conv.passToReview()
			keys := map[string]bool{}
			for _, it := range f.Items(conv.st) {
				keys[it.Key] = true
			}
			switch form.NormalizeSmallType(c.smallType) {
			case "小餐饮":
				if !keys["kitchen_flue"] {
					t.Error("小餐饮 should be asked about the kitchen flue")
				}
			case "小制革":
				if !keys["tannery_h2s"] || keys["cyanide"] {
					t.Errorf("小制革 (roster %q) should get tannery items only, got %v", c.smallType, keys)
				}
			case "小电镀":
				if !keys["cyanide"] || keys["dust_system"] {
					t.Errorf("小电镀 should get plating items only, got %v", keys)
				}
			case "小医院":
				if keys["kitchen_flue"] {
					t.Error("小医院 should not be asked about the kitchen flue")
				}
			}
			if c.keyUnit != keys["ku_written_report"] {
				t.Errorf("key unit %v but written-report item present = %v", c.keyUnit, keys["ku_written_report"])
			}
		})
	}
}

func TestForErrors(t *testing.T) {
	r := MustShipped(t)
	if _, err := r.For("大企业", "", false); safetybot.ErrorCode(err) != safetybot.EINVALID {
		t.Errorf("unknown category: %v", err)
	}
	only := MustLoad(t, map[string]string{"general.yaml": minimalForm("general", 1, "一般企业")})
	if _, err := only.For(safetybot.CategoryNineSmall, "小旅馆", false); safetybot.ErrorCode(err) != safetybot.ENOTFOUND {
		t.Errorf("category without a form: %v", err)
	}
}

func minimalForm(key string, version int, category string) string {
	return "key: " + key + "\nversion: " + strconv.Itoa(version) + "\ntitle: 测试\napplies_to:\n  category: " + category + `
questions:
  - key: q1
    type: yesno
    text: 第一问？
    fail_on: 否
`
}

// Broken definitions fail at load with the file, the key and the reason.
func TestLoadErrors(t *testing.T) {
	head := "key: demo\nversion: 1\ntitle: 演示\napplies_to: {category: 一般企业}\nquestions:\n"
	for _, tc := range []struct {
		name          string
		files         map[string]string
		file, key, in string
	}{
		{"unknown question type", map[string]string{"demo.yaml": head + "  - {key: q1, type: essay, text: 写吧？}\n"},
			"demo.yaml", "q1", "unknown question type \"essay\""},
		{"duplicate question key", map[string]string{"demo.yaml": head + "  - {key: q1, type: text, text: 一？}\n  - {key: q1, type: text, text: 二？}\n"},
			"demo.yaml", "q1", "duplicate question key"},
		{"duplicate key across composed parts", map[string]string{
			"demo.yaml":  head + "  - {key: q1, type: text, text: 一？}\n",
			"extra.yaml": "key: extra\nversion: 1\ntitle: 附加\npart: extra\nquestions:\n  - {key: q1, type: text, text: 又一？}\n"},
			"extra.yaml", "q1", "duplicate question key: also in demo"},
		{"duplicate definition version", map[string]string{
			"demo.v1.yaml": head + "  - {key: q1, type: text, text: 一？}\n",
			"demo.yaml":    head + "  - {key: q1, type: text, text: 一？}\n"},
			"demo.yaml", "demo", "duplicate definition: version 1 is also in demo.v1.yaml"},
		{"when on unknown key", map[string]string{"demo.yaml": head + "  - {key: q1, type: text, text: 一？, when: {key: nowhere, equals: 是}}\n"},
			"demo.yaml", "q1", "unknown question \"nowhere\""},
		{"when on later key", map[string]string{"demo.yaml": head + "  - {key: q1, type: text, text: 一？, when: {key: q2, equals: 是}}\n  - {key: q2, type: yesno, text: 二？}\n"},
			"demo.yaml", "q1", "later question \"q2\""},
		{"when on itself", map[string]string{"demo.yaml": head + "  - {key: q1, type: yesno, text: 一？, when: {key: q1, equals: 是}}\n"},
			"demo.yaml", "q1", "the question itself"},
		{"when value not an option", map[string]string{"demo.yaml": head + "  - {key: q1, type: yesno, text: 一？}\n  - {key: q2, type: text, text: 二？, when: {key: q1, equals: 也许}}\n"},
			"demo.yaml", "q2", "not one of its options"},
		{"when on unknown small type", map[string]string{"demo.yaml": head + "  - {key: q1, type: text, text: 一？, when: {key: _small_type, equals: 小火箭}}\n"},
			"demo.yaml", "q1", "unknown small type \"小火箭\""},
		{"when on unknown context key", map[string]string{"demo.yaml": head + "  - {key: q1, type: text, text: 一？, when: {key: _weather, equals: 晴}}\n"},
			"demo.yaml", "q1", "unknown context key"},
		{"options missing for single", map[string]string{"demo.yaml": head + "  - {key: q1, type: single, text: 选？}\n"},
			"demo.yaml", "q1", "needs at least 2 options"},
		{"options missing for multi", map[string]string{"demo.yaml": head + "  - {key: q1, type: multi, text: 选？, options: [{id: a, text: 甲}]}\n"},
			"demo.yaml", "q1", "needs at least 2 options"},
		{"bad min/max for number", map[string]string{"demo.yaml": head + "  - {key: q1, type: number, text: 多少？, min: 10, max: 1}\n"},
			"demo.yaml", "q1", "bad min/max"},
		{"bad min/max for photo", map[string]string{"demo.yaml": head + "  - {key: q1, type: photo, text: 拍照, min: 3, max: 2}\n"},
			"demo.yaml", "q1", "bad min/max"},
		{"photo max over 9", map[string]string{"demo.yaml": head + "  - {key: q1, type: photo, text: 拍照, max: 20}\n"},
			"demo.yaml", "q1", "bad min/max"},
		{"fail_on on a text question", map[string]string{"demo.yaml": head + "  - {key: q1, type: text, text: 写？, fail_on: 否}\n"},
			"demo.yaml", "q1", "fail_on is only for yesno"},
		{"YAML syntax", map[string]string{"demo.yaml": head + "  - {key: q1, type: text, text: [unclosed\n"},
			"demo.yaml", "demo", "YAML"},
		{"misspelt field", map[string]string{"demo.yaml": head + "  - {key: q1, type: text, text: 写？, requried: false}\n"},
			"demo.yaml", "demo", "field requried not found"},
		{"base without category", map[string]string{"demo.yaml": "key: demo\nversion: 1\ntitle: 演示\nquestions:\n  - {key: q1, type: text, text: 写？}\n"},
			"demo.yaml", "demo", "needs applies_to.category"},
		{"two base forms for one category", map[string]string{
			"a.yaml": minimalForm("a", 1, "一般企业"),
			"b.yaml": minimalForm("b", 1, "一般企业")},
			"b.yaml", "b", "ambiguous base form"},
		{"version missing", map[string]string{"demo.yaml": strings.Replace(head, "version: 1\n", "", 1) + "  - {key: q1, type: text, text: 写？}\n"},
			"demo.yaml", "demo", "version must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := form.Load(mapFS(tc.files))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			var le form.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %T is not a LoadError: %v", err, err)
			}
			for _, d := range le {
				if d.File == tc.file && d.Key == tc.key && strings.Contains(d.Reason, tc.in) {
					if !strings.Contains(err.Error(), tc.file) || !strings.Contains(err.Error(), tc.key) {
						t.Errorf("Error() does not name file and key: %v", err)
					}
					return
				}
			}
			t.Fatalf("want %s: %s: …%s…, got %v", tc.file, tc.key, tc.in, err)
		})
	}
}

func TestLoadListsEveryProblem(t *testing.T) {
	_, err := form.Load(mapFS(map[string]string{
		"a.yaml": "key: a\nversion: 1\ntitle: 甲\napplies_to: {category: 一般企业}\nquestions:\n  - {key: q1, type: essay, text: 一？}\n",
		"b.yaml": "key: b\nversion: 1\ntitle: 乙\napplies_to: {category: 九小场所}\nquestions:\n  - {key: q1, type: single, text: 选？}\n",
	}))
	var le form.LoadError
	if !errors.As(err, &le) || len(le) != 2 {
		t.Fatalf("want 2 problems, got %v", err)
	}
}

// A changed definition is a new version; old sessions and submissions keep theirs.
func TestVersionFreezing(t *testing.T) {
	v1 := `key: demo
version: 1
title: 演示
applies_to: {category: 一般企业}
questions:
  - {key: exits, type: yesno, text: 出口畅通吗？, fail_on: 否}
  - {key: who, type: text, text: 谁检查的？}
`
	v2 := `key: demo
version: 2
title: 演示（新版）
applies_to: {category: 一般企业}
questions:
  - {key: exits, type: yesno, text: 安全出口是否畅通、没有上锁？, fail_on: 否}
  - {key: lights, type: yesno, text: 应急灯好用吗？, fail_on: 否}
  - {key: who, type: text, text: 检查人是谁？}
`
	old := MustLoad(t, map[string]string{"demo.v1.yaml": v1})
	f1, err := old.For(safetybot.CategoryGeneral, "", false)
	if err != nil {
		t.Fatal(err)
	}
	c := start(t, f1, form.Context{Category: safetybot.CategoryGeneral})
	c.say("是").ok()
	saved := mustJSON(t, c.st)

	// The definitions change: v2 ships beside v1.
	r := MustLoad(t, map[string]string{"demo.v1.yaml": v1, "demo.v2.yaml": v2})
	if got := r.Versions("demo"); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("Versions = %v", got)
	}
	latest, err := r.For(safetybot.CategoryGeneral, "", false)
	if err != nil || latest.Version() != "demo@2" || len(latest.Questions) != 3 {
		t.Fatalf("new sessions should use demo@2, got %v %v", latest.Version(), err)
	}
	var st form.State
	if err := json.Unmarshal([]byte(saved), &st); err != nil {
		t.Fatal(err)
	}
	f, err := r.Lookup(st.Form, st.Versions)
	if err != nil || f.Version() != "demo@1" {
		t.Fatalf("Lookup(%s, %v) = %v, %v", st.Form, st.Versions, f.Version(), err)
	}
	st, out := f.Step(st, form.Input{Text: "李四", Now: now})
	if st.Phase != form.PhaseReview || out.Error != "" {
		t.Fatalf("old session should finish on v1: phase %s\n%s", st.Phase, out.Text)
	}
	items := f.Items(st)
	if len(items) != 2 || items[0].Text != "出口畅通吗？" {
		t.Fatalf("old submission renders with v1 texts, got %+v", items)
	}
	byVersion, err := r.LookupVersion("demo@1")
	if err != nil || byVersion.Summary(st) != f.Summary(st) {
		t.Fatalf("LookupVersion(demo@1): %v", err)
	}
	if _, err := r.LookupVersion("demo@3"); err == nil {
		t.Error("LookupVersion(demo@3) should fail")
	}
	if _, err := r.Lookup("demo+ghost", map[string]int{"demo": 1}); err == nil {
		t.Error("Lookup with a part without a version should fail")
	}
}

func TestNormalizeSmallType(t *testing.T) {
	for in, want := range map[string]string{"小餐馆": "小餐饮", " 小皮革 ": "小制革", "小歌舞厅": "小歌舞娱乐", "小美容": "小美容洗浴", "小旅馆": "小旅馆", "小棋牌室": "小棋牌室"} {
		if got := form.NormalizeSmallType(in); got != want {
			t.Errorf("NormalizeSmallType(%q) = %q, want %q", in, got, want)
		}
	}
}

// A base form for one small type wins over the category's general one.
func TestForPrefersSmallTypeBase(t *testing.T) {
	hotel := strings.Replace(minimalForm("hotel", 1, "九小场所"), "applies_to:\n", "applies_to:\n  small_types: [小旅馆]\n", 1)
	r := MustLoad(t, map[string]string{"nine.yaml": minimalForm("nine", 1, "九小场所"), "hotel.yaml": hotel})
	for smallType, want := range map[string]string{"小旅馆": "hotel", "小宾馆": "hotel", "小医院": "nine", "": "nine"} {
		f, err := r.For(safetybot.CategoryNineSmall, smallType, false)
		if err != nil || f.Key != want {
			t.Errorf("For(九小场所, %q) = %v, %v; want %s", smallType, f, err, want)
		}
	}
}
