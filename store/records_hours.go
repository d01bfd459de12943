package store

import "time"

// This file holds the hourly and minute buckets a store keeps of each
// subscription's usage, and the clock arithmetic that places a time in them.

// WeekHours is how many hourly usage buckets a store keeps per subscription:
// the rolling week the pool budgets against.
const WeekHours = 168

// BurnMinutes is how many minute buckets a store keeps per subscription:
// the last hour, whose spending is the subscription's burn rate.
const BurnMinutes = 60

// Bucket is a subscription's usage in one UTC hour.
type Bucket struct {
	// Hour is the bucket's hour: whole hours since the Unix epoch (see HourOf).
	Hour     int64       `json:"hour"`
	Cost     Nanodollars `json:"cost"`
	Requests int64       `json:"requests"`
	// Tokens are the tokens of the hour's requests, by kind.
	Tokens Tokens `json:"tokens,omitzero"`
}

// Minute is a subscription's spending in one minute: what its burn rate,
// the spending of the last BurnMinutes minutes, adds up.
type Minute struct {
	// Minute is the bucket's minute: whole minutes since the Unix epoch
	// (see MinuteOf).
	Minute int64       `json:"minute"`
	Cost   Nanodollars `json:"cost"`
}

// MinuteOf returns t's minute as whole minutes since the Unix epoch,
// rounded down.
func MinuteOf(t time.Time) int64 {
	s := t.Unix()
	m := s / 60
	if s%60 < 0 {
		m--
	}
	return m
}

// HourOf returns t's hour as whole hours since the Unix epoch, rounded down.
func HourOf(t time.Time) int64 {
	s := t.Unix()
	h := s / 3600
	if s%3600 < 0 {
		h--
	}
	return h
}

// HourStart returns the start of hour h (see HourOf) in UTC.
func HourStart(h int64) time.Time { return time.Unix(h*3600, 0).UTC() }
