package app

// registerJobs adds every scheduled job (reminders, digests, escalations,
// draft expiry) to a.Sched. Each job scans due rows in the store; see the
// scheduler package comment for how to add one.
func registerJobs(a *App) error {
	for _, reg := range jobRegistrations {
		if err := reg(a); err != nil {
			return err
		}
	}
	return nil
}

// jobRegistrations is extended by the files that define jobs (one init each).
var jobRegistrations []func(a *App) error
