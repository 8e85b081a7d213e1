package messages

// MenuButton is one button of the app menu (menu/create).
type MenuButton struct {
	Type      string       `json:"type,omitempty"`
	Name      string       `json:"name"`
	Key       string       `json:"key,omitempty"`
	URL       string       `json:"url,omitempty"`
	SubButton []MenuButton `json:"sub_button,omitempty"`
}

// Menu is the menu/create body.
type Menu struct {
	Button []MenuButton `json:"button"`
}

// AppMenu is the app's menu: one tap to the things people do most.
// Names stay within WeCom's 16-byte (top) / 40-byte (sub) limits.
func AppMenu() Menu {
	return Menu{Button: []MenuButton{
		{Type: "click", Name: "开始自查", Key: MenuSelfCheck},
		{Type: "click", Name: "我的情况", Key: MenuStatus},
		{Name: "更多", SubButton: []MenuButton{
			{Type: "click", Name: "提交整改", Key: MenuRectify},
			{Type: "click", Name: "本镇进度", Key: MenuProgress},
			{Type: "click", Name: "使用帮助", Key: MenuHelp},
		}},
	}}
}
