// The one table of limits. The wire (codec.ts), keel.json (what the
// dispatcher accepts from a repository), the runner (what it clips its
// outcomes to) and the dispatcher (what it sends) all read these numbers, so
// nothing one side accepts is refused by another.

const KIB = 1024;
const MIB = 1024 * KIB;

export const LIMITS = {
  /** The longest line every peer accepts. The dispatcher may take longer ones (--max-line-mib) but never sends one. */
  lineBytes: MIB,
  /** `output.data`, before JSON escaping. */
  outputChunk: 64 * KIB,
  /** JUnit XML inside a `result`: it must stay well under the line cap, escaped. */
  junitChars: 256 * KIB,
  /** Free text: a message, one command item, one `run` argument, one env value. */
  text: 4096,
  /** Printable, single-line text: a hello name, a job title. */
  printable: 256,
  /** Runner names, labels, job ids, project names. */
  name: 64,
  /** A variable name in a job's env. */
  envName: 128,
  /** Variables in one job's env, keel.json's env and matrix together. */
  envVariables: 64,
  /** One job's `run` and `env` together, as JSON: keeps a `job` message far below lineBytes. */
  jobSpecBytes: 512 * KIB,
  runArgs: 64,
  junitPath: 512,
  labels: 32,
  slots: 256,
  attempts: 1000,
  heldLeases: 1024,
  leaseChars: 64,
  commandItems: 4096,
  /** All of an outcome's `command` together. */
  commandChars: 64 * KIB,
  failedTests: 100,
  failedTestChars: 1024,
  /** keel.json itself. */
  keelJsonBytes: 64 * KIB,
  /** Jobs named in one keel.json, before the matrix. */
  jobsPerFile: 32,
  /** Jobs one build may make, the matrix expanded. */
  jobsPerBuild: 64,
  jobLabels: 16,
  matrixVariables: 16,
  matrixValues: 16,
  retries: 10,
  /** Secrets one job may ask for; the dispatcher's --secrets file holds at most `secretsInFile`. */
  jobSecrets: 16,
  secretsInFile: 256,
  /** The shortest secret value: anything shorter would mask ordinary output. */
  secretMinChars: 4,
  /** Globs in one of a `when`'s lists, and the length of each. */
  whenPatterns: 32,
  whenPatternChars: 256,
  /** Combinations a matrix may make before `exclude` (so a huge product is refused unexpanded). */
  matrixProduct: 65_536,
  /** Combinations one matrix's `include` or `exclude` may list. */
  matrixEntries: 64,
  /** Requests one batch of the gate merges and tests together (the dispatcher's --batch cannot exceed it). */
  batchRequests: 64,
  /** A land request's priority, either way. */
  priority: 1_000_000,
  /** Land requests one `land-queue` lists; the rest are counted. */
  queueRequests: 500,
  /** A patch series (--max-patch-mib may lower it). */
  patchBytes: 64 * MIB,
  /** Raw bytes of a patch in one `patch-data` or `patch-bytes` message (base64 makes it a third more). */
  patchChunk: 512 * KIB,
  /** Files of a patch kept in its record. */
  patchFiles: 1000,
  /** Flags on one patch. */
  patchFlags: 32,
  /** Applications of one version kept (the first and the latest). */
  patchApplications: 100,
  /** Patches one `patch-list` lists; the rest are counted. */
  patchList: 500,
  /** Trunk commits a broken patch is narrowed over (the newest). */
  trunkRange: 2000,
  /** Builds one `status` overview lists; the rest are counted. */
  overviewBuilds: 100,
  /** Branches whose newest build the overview shows at a glance. */
  overviewHeads: 20,
  /** Runners one `status` overview lists; the rest are counted. */
  overviewRunners: 2000,
  /** Commit statuses the dispatcher keeps until the forge takes them (--forge-status); past it the oldest go. */
  outboxStatuses: 10_000,
  /** `finished` events kept until an observer says `heard`; past it the oldest go. */
  outboxEvents: 1000,
  /** Finished builds waiting for the --on-result hook; past it the oldest go. */
  outboxHooks: 1000,
  /** Branches whose last verdict is remembered for KEEL_PREVIOUS_STATUS; past it the least recent is forgotten. */
  branchVerdicts: 10_000,
  /** A commit status's description: GitHub refuses more than 140 characters. */
  forgeDescription: 140,
  /** What is read of a forge's answer: enough for its `message`. */
  forgeAnswerBytes: 64 * KIB,
  /** Output of one run of the --on-result hook copied to the dispatcher's log; the rest is counted. */
  hookOutputBytes: 64 * KIB,
  /** Notes an observer keeps until it can push them to origin; past it the oldest go. */
  pendingNotes: 10_000,
  /** Builds one `history-page` lists. */
  historyPage: 100,
  /** `log.data`, and one event of a log followed over HTTP, in bytes of the log. */
  logChunk: 64 * KIB,
  /** Bytes a client following a log (or a page's events) may leave unread before it is dropped or made to catch up from the file. */
  followerBacklog: 256 * KIB,
  /** Commits a short id is answered with: the candidates of an ambiguous one, and a bulk cancel's sample. */
  commitMatches: 16,
  /** keel.json `artifacts`: patterns per job, and the length of one. */
  artifactPatterns: 16,
  artifactPattern: 256,
  /** A file a job's artifacts hold: its path inside the repository, and how many one job sends. */
  artifactPath: 512,
  artifactFiles: 1000,
  /** Bytes of a file in one `artifact` message, before base64 (which makes them a third longer). */
  artifactChunk: 512 * KIB,
  /** Notes about a job's artifacts (skipped, over the limit, not kept), each LIMITS.text at most. */
  artifactNotes: 16,
} as const;

export type Limit = keyof typeof LIMITS;
