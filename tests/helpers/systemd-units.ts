// The systemd units shipped in contrib/systemd, read as systemd would: a
// unit's settings by key (repeated keys kept in order), and its ExecStart
// with an instance's %i and %H filled in.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const UNITS_DIR = fileURLToPath(new URL('../../contrib/systemd/', import.meta.url));

export interface Unit {
  file: string;
  /** key → every value it was given, from every section. */
  settings: Map<string, string[]>;
}

export function readUnits(): Unit[] {
  return readdirSync(UNITS_DIR).filter((file) => file.endsWith('.service')).sort().map((file) => {
    const settings = new Map<string, string[]>();
    for (const line of readFileSync(`${UNITS_DIR}${file}`, 'utf8').split('\n')) {
      const match = /^([A-Za-z]+)=(.*)$/.exec(line);
      if (match) settings.set(match[1]!, [...(settings.get(match[1]!) ?? []), match[2]!]);
    }
    return { file, settings };
  });
}

/** The words of the unit's ExecStart for instance `instance` on host `host`, without the $KEEL_FLAGS an env file may add. */
export function execStart(unit: Unit, instance: string, host: string): string[] {
  return unit.settings.get('ExecStart')![0]!.replaceAll('%i', instance).replaceAll('%H', host).split(' ').filter((word) => word !== '$KEEL_FLAGS');
}
