/** Moved to test/fixtures/hostile-tar.ts; kept so older imports still resolve. */
export * from '../fixtures/hostile-tar';
