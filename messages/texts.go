package messages

import (
	"fmt"
	"strings"

	"safetybot"
)

// Menu keys of the app menu.
const (
	MenuHelp      = "MENU_HELP"
	MenuStatus    = "MENU_STATUS"
	MenuSelfCheck = "MENU_SELFCHECK"
	MenuRectify   = "MENU_RECTIFY"
	MenuProgress  = "MENU_PROGRESS"
)

// NotRegistered answers anyone not in the roster.
const NotRegistered = "您尚未登记，请联系所在镇街安监办。"

// commandsByRole are the commands each role can use, for help and hints.
var commandsByRole = map[safetybot.Role][]string{
	safetybot.RolePrincipal: {
		"签收 —— 签收公开信",
		"自查 —— 填报本月自查自纠",
		"整改 —— 提交隐患整改情况",
		"我的情况 —— 签收、自查和隐患情况",
		"隐患 —— 查看本企业隐患",
		"期限 —— 最近的截止日期",
		"已阅 —— 确认已读通知",
	},
	safetybot.RoleSafetyOfficer: {
		"自查 —— 代企业填报本月自查自纠（负责人签字）",
		"我的情况 —— 企业签收、自查和隐患情况",
		"隐患 —— 查看企业隐患",
		"期限 —— 最近的截止日期",
	},
	safetybot.RoleTownship: {
		"本镇进度 —— 签收、自查、整改进度",
		"未签收 / 未自查 / 逾期隐患 —— 名单",
		"企业 名称 —— 查一家企业",
		"两年未检查 —— 两年内未检查的企业",
		"重大隐患 —— 本镇和我跟踪的重大隐患",
		"现场检查 / 暗查 / 交叉检查 —— 填检查记录",
		"带队检查 —— 领导登记带队检查",
		"我的带队检查 —— 本月次数（目标3次）",
		"待复查 / 复查 编号 / 通过 编号 / 退回 编号 原因 —— 审核整改",
		"延期 / 停产整改 / 关闭取缔 / 五定 编号 —— 隐患处置",
	},
	safetybot.RoleDepartment: {
		"进度 —— 本部门监管企业进度",
		"未签收 / 未自查 / 逾期隐患 —— 名单",
		"企业 名称 —— 查一家监管企业",
		"两年未检查 —— 两年内未检查的企业",
		"重大隐患 —— 我跟踪的和本行业重大隐患",
		"抽查任务 —— 分给我的自查抽查",
		"现场检查 / 暗查 / 交叉检查 —— 填检查记录",
		"带队检查 —— 领导登记带队检查",
		"我的带队检查 —— 本月次数（目标3次）",
		"待复查 / 复查 编号 / 通过 编号 / 退回 编号 原因 —— 审核整改",
		"延期 / 停产整改 / 关闭取缔 / 五定 编号 —— 隐患处置",
	},
	safetybot.RoleOffice: {
		"全市进度 —— 各镇街进度",
		"未签收 / 未自查 / 逾期隐患 —— 全市名单",
		"企业 名称 —— 查任意企业",
		"两年未检查 / 重大隐患 —— 全市名单",
		"现场检查 / 暗查 / 交叉检查 —— 填检查记录",
		"通知 镇街名 内容 —— 发通知",
	},
}

// HelpText lists what the role can do.
func HelpText(role safetybot.Role) string {
	cmds, ok := commandsByRole[role]
	if !ok {
		return NotRegistered
	}
	var b strings.Builder
	fmt.Fprintf(&b, "您好！您是%s，可以发送：\n", role.Label())
	for _, c := range cmds {
		b.WriteString("· " + c + "\n")
	}
	b.WriteString("随时发送“帮助”查看本说明。")
	return b.String()
}

// WelcomeText greets a member who opens the app for the first time.
func WelcomeText(role safetybot.Role) string {
	if role == "" {
		return "欢迎使用安全生产大检查助手。" + NotRegistered
	}
	return "欢迎使用安全生产大检查助手！\n" + HelpText(role)
}

// UnknownInput answers input no route matched.
func UnknownInput(text string, role safetybot.Role) string {
	if text == "" {
		return "暂时无法处理这类消息。\n" + HelpText(role)
	}
	return fmt.Sprintf("没听懂“%s”。\n%s", Truncate(text, 60), HelpText(role))
}
