import { stripExternalLinks } from '../../../src/admin/queue-dashboard';

describe('stripExternalLinks (the queue dashboard page loads nothing from another origin)', () => {
  it('removes links to absolute and protocol-relative URLs, keeps relative ones and the rest of the page', () => {
    const page = [
      '<head>',
      '    <link rel="icon" href="static/images/logo.svg">',
      '    <link href="https://fonts.googleapis.com/css2?family=IBM+Plex+Sans&display=swap" rel="stylesheet">',
      "    <LINK rel='preconnect' href='//fonts.gstatic.com'>",
      '    <link rel="stylesheet" href="http://cdn.example.com/x.css" />',
      '<link href="static/css/main.css" rel="stylesheet"></head>',
      '<body><a href="https://github.com/felixmosh/bull-board">link text stays</a></body>',
    ].join('\n');
    const stripped = stripExternalLinks(page);
    expect(stripped).not.toMatch(/googleapis|gstatic|cdn\.example/);
    expect(stripped).toContain('<link rel="icon" href="static/images/logo.svg">');
    expect(stripped).toContain('<link href="static/css/main.css" rel="stylesheet">');
    expect(stripped).toContain('<a href="https://github.com/felixmosh/bull-board">link text stays</a>');
  });
});
