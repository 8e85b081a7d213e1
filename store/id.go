package store

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"

	"safetybot"
)

var notFound = safetybot.Error{Code: safetybot.ENOTFOUND, Message: "未找到相关记录"}

func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func itoa(i int) string { return strconv.Itoa(i) }
