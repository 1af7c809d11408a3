// The git context tests hand to the parts that run git, as each main builds
// its own from process.env at start.
import { createGitContext, type GitContext } from '../../src/common/git/run.js';

export const TEST_GIT: GitContext = createGitContext(process.env);
