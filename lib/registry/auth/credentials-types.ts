/** Who we are to a registry: a username and password, or an identity token (an OAuth2 refresh token). */
export interface Credentials {
  username?: string;
  password?: string;
  identityToken?: string;
  /** where they came from, for messages: "--creds", a file, a helper */
  source?: string;
}
