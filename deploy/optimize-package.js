'use strict';
// A local Serverless plugin: once serverless-python-requirements has added the requirements
// to the zip, deploy/optimize_package.py precompiles its modules and drops unused botocore
// models (see that file for why). Configured by custom.optimizePackage in serverless.yml.
const { spawnSync } = require('child_process');
const path = require('path');

class OptimizePackage {
  constructor(serverless, _options, utils) {
    this.serverless = serverless;
    this.log = (utils && utils.log) || { notice: (message) => serverless.cli.log(message) };
    const optimize = () => this.optimize();
    this.hooks = {
      'after:package:createDeploymentArtifacts': optimize,
      'after:deploy:function:packageFunction': optimize,
    };
  }

  optimize() {
    const service = this.serverless.service;
    const custom = service.custom || {};
    const settings = custom.optimizePackage || {};
    const runtime = String(service.provider.runtime || '');
    const version = runtime.replace(/^python/, '');
    const pythonBin = settings.pythonBin || (custom.pythonRequirements || {}).pythonBin || runtime;
    const artifacts = new Set();
    if (service.package && service.package.artifact) artifacts.add(service.package.artifact);
    for (const name of service.getAllFunctions()) {
      const fn = service.getFunction(name);
      if (fn.package && fn.package.artifact) artifacts.add(fn.package.artifact);
    }
    const script = path.join(__dirname, 'optimize_package.py');
    for (const artifact of artifacts) {
      const zip = path.resolve(this.serverless.serviceDir || this.serverless.config.servicePath, artifact);
      const args = [script, zip, '--python-version', version,
        '--botocore-services', (settings.botocoreServices || []).join(',')];
      const run = spawnSync(pythonBin, args, { encoding: 'utf8' });
      if (run.error || run.status !== 0) {
        const reason = run.error ? run.error.message : (run.stderr || '').trim();
        throw new this.serverless.classes.Error(`optimize-package failed for ${zip}: ${reason}`);
      }
      this.log.notice((run.stdout || '').trim());
    }
  }
}

module.exports = OptimizePackage;
