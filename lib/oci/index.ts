export { compatiblePlatforms, hostPlatform, normalizeArch, normalizeOs, normalizePlatform, parsePlatform, platformMatches, platformRank, platformString } from './platform';
export type { NormalPlatform, Platform } from './platform';
