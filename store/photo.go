package store

import "context"

// SavePhoto records a stored photo file (idempotent by SHA-256).
func (s *Store) SavePhoto(ctx context.Context, sha, contentType string, size int64, uploadedBy string) error {
	_, err := s.exec(ctx, `INSERT INTO photos (sha256, content_type, size, uploaded_by, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (sha256) DO NOTHING`, sha, contentType, size, uploadedBy, s.Now())
	return err
}
