// keel runner pause NAME / keel runner resume NAME (placeholder until the message exists).
export async function runnerControl(_argv: string[], _env: NodeJS.ProcessEnv): Promise<number> {
  throw new Error('not yet');
}
