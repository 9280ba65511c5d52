import { exchangeWebFlowCode, getWebFlowAuthorizationUrl } from "@octokit/oauth-methods";
import { request as octokitRequest } from "@octokit/request";

export interface GitHubSignInOptions {
  /** The GitHub App's OAuth client (GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET). */
  clientId: string;
  clientSecret: string;
  /** Lower-case GitHub logins admitted to the dashboard (DASHBOARD_USERS). */
  users: string[];
  /** REST API root: https://api.github.com, or https://HOST/api/v3 on GitHub Enterprise Server. */
  baseUrl: string;
}

/** Why a sign-in failed, with the HTTP status the dashboard answers. */
export class SignInError extends Error {
  override name = "SignInError";
  constructor(
    readonly status: 401 | 403 | 502,
    message: string,
  ) {
    super(message);
  }
}

/**
 * GitHub's web flow for the App's user authorization: the authorize URL, then the code →
 * user token → `GET /user` → the login, admitted only when DASHBOARD_USERS lists it. The user
 * token is used for that one call and not kept.
 */
export class GitHubSignIn {
  readonly #options: GitHubSignInOptions;
  readonly #request: typeof octokitRequest;

  constructor(options: GitHubSignInOptions) {
    this.#options = options;
    // oauth-methods derives the web host (github.com or the GHES host) from the API root.
    this.#request = octokitRequest.defaults({ baseUrl: options.baseUrl });
  }

  authorizationUrl(state: string, redirectUrl: string): string {
    return getWebFlowAuthorizationUrl({ clientType: "github-app", clientId: this.#options.clientId, state, redirectUrl, allowSignup: false, request: this.#request }).url;
  }

  /** The admitted user's login; throws SignInError when GitHub refuses the code or the user is not listed. */
  async signIn(code: string, redirectUrl: string): Promise<string> {
    const { clientId, clientSecret, users } = this.#options;
    let token: string;
    try {
      ({ token } = (await exchangeWebFlowCode({ clientType: "github-app", clientId, clientSecret, code, redirectUrl, request: this.#request })).authentication);
    } catch (error) {
      // oauth-methods turns GitHub's `{ error: "bad_verification_code", … }` answer into a 400.
      if ((error as { status?: unknown }).status === 400) throw new SignInError(401, `GitHub did not accept the sign-in code (${(error as Error).message}); sign in again`);
      throw new SignInError(502, `could not exchange the sign-in code with GitHub: ${(error as Error).message}`);
    }
    let login: string;
    try {
      ({ login } = (await this.#request("GET /user", { headers: { authorization: `token ${token}` } })).data);
    } catch (error) {
      throw new SignInError(502, `could not read the signed-in user from GitHub: ${(error as Error).message}`);
    }
    if (!users.includes(login.toLowerCase())) throw new SignInError(403, `the GitHub user ${login} may not use this dashboard: add the login to DASHBOARD_USERS`);
    return login;
  }
}
