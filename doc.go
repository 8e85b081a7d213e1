// Package safetybot holds the domain of the work-safety inspection campaign bot:
// enterprises, people and their roles, open letters and signatures, self-inspection
// submissions, hazards, inspections and notices, plus the error codes every layer
// shares. It imports no other package of this module; every other package imports it.
package safetybot
