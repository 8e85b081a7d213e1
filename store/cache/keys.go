package cache

// prefix namespaces every key of this application in a shared Redis.
const prefix = "safetybot:"

func tokenKey(k string) string { return prefix + "token:" + k }

// rateKey holds member's admission times (a sorted set in Redis). Keys of the
// former per-minute counters ended in ":<minute>" and never clash with it.
func rateKey(member string) string { return prefix + "rate:" + member }
