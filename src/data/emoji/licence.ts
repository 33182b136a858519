/**
 * Attribution for the emoji training data, to ship with the embedded model (its README/model card and
 * `tdd info`). Terms as the sources state them (checked against emoji-datasource 16.0.0's README and LICENSE,
 * the jdecked/twemoji README and the googlefonts/noto-emoji README):
 * - emoji-datasource-*: MIT, "Copyright (c) 2013 Cal Henderson"; its README says the Twitter images are
 *   under CC-BY 4.0 (Twemoji fork jdecked/twemoji v16.0.1) and the Google images under Apache License 2.0
 *   (Noto Emoji v2.048).
 * - Twemoji: "Graphics licensed under CC-BY 4.0"; copyright Twitter, Inc and other contributors (the original
 *   twitter/twemoji README), the fork maintained by jdecked and contributors. CC-BY 4.0 requires attribution.
 * - Noto Emoji: "Emoji fonts ... are under the SIL Open Font License, version 1.1. Tools and most image
 *   resources are under the Apache license, version 2.0. Flag images under third_party/region-flags are in
 *   the public domain or otherwise exempt from copyright."
 */

export interface DataAttribution {
  /** What the project used. */
  readonly work: string;
  readonly copyright: string;
  readonly licence: string;
  readonly licenceUrl: string;
  readonly source: string;
  /** Anything the licence wording needs beyond the above. */
  readonly note?: string;
}

export const TWEMOJI_ATTRIBUTION: DataAttribution = {
  work: 'Twemoji 16.0.1 graphics (64×64 PNG, as packaged in emoji-datasource-twitter 16.0.0)',
  copyright: 'Copyright Twitter, Inc and other contributors; the Twemoji fork is maintained by jdecked and contributors',
  licence: 'CC-BY 4.0',
  licenceUrl: 'https://creativecommons.org/licenses/by/4.0/',
  source: 'https://github.com/jdecked/twemoji (originally https://github.com/twitter/twemoji)',
  note: 'The images were resampled, composited over white and used to train the model.',
};

export const NOTO_EMOJI_ATTRIBUTION: DataAttribution = {
  work: 'Noto Emoji 2.048 images (64×64 PNG, as packaged in emoji-datasource-google 16.0.0)',
  copyright: 'Copyright Google Inc. (Noto Emoji authors)',
  licence: 'Apache License 2.0 (the image resources; the Noto Emoji fonts themselves are under the SIL Open Font License 1.1)',
  licenceUrl: 'https://www.apache.org/licenses/LICENSE-2.0',
  source: 'https://github.com/googlefonts/noto-emoji',
  note: 'Flag images derive from third_party/region-flags, which are in the public domain or otherwise exempt from copyright.',
};

export const EMOJI_DATASOURCE_ATTRIBUTION: DataAttribution = {
  work: 'emoji-data (emoji.json: names, categories, subcategories; image packaging)',
  copyright: 'Copyright (c) 2013 Cal Henderson',
  licence: 'MIT',
  licenceUrl: 'https://opensource.org/licenses/MIT',
  source: 'https://github.com/iamcal/emoji-data',
};

export const EMOJI_ATTRIBUTIONS: readonly DataAttribution[] = [TWEMOJI_ATTRIBUTION, NOTO_EMOJI_ATTRIBUTION, EMOJI_DATASOURCE_ATTRIBUTION];

/** One attribution as a paragraph of plain text. */
export function formatAttribution(a: DataAttribution): string {
  const lines = [`${a.work}`, `${a.copyright}.`, `Licensed under ${a.licence}: ${a.licenceUrl}`, `Source: ${a.source}`];
  if (a.note) lines.push(a.note);
  return lines.join('\n');
}

/** The training-data notice of the embedded model, all sources, as plain text. */
export const EMOJI_TRAINING_DATA_NOTICE: string = [
  'The embedded text-to-emoji model was trained on the following emoji images and data:',
  ...EMOJI_ATTRIBUTIONS.map(formatAttribution),
].join('\n\n');
