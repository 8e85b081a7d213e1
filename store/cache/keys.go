package cache

import "strconv"

// prefix namespaces every key of this application in a shared Redis.
const prefix = "safetybot:"

func tokenKey(k string) string { return prefix + "token:" + k }

func rateKey(member string, minute int64) string {
	return prefix + "rate:" + member + ":" + strconv.FormatInt(minute, 10)
}
